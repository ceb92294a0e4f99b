import type { Express } from "express";
import { ApiError, badRequest, limitReached, notFound } from "../shared/errors.ts";
import { idempotencyKeyReused, idempotencyOf } from "../shared/idempotency.ts";
import { listBody } from "../shared/pagination.ts";
import { principalFrom } from "../shared/principal.ts";
import { jsonBody, parse } from "../shared/validation.ts";
import { NgramModel, ngramSnapshot } from "../inference/ngram.ts";
import type { StorageClient } from "../storage/client.ts";
import {
  createJobBody,
  evaluateBody,
  jobId,
  listJobsQuery,
  type Evaluation,
  type JobLimits,
} from "./contract.ts";
import { JobLimitReached, NameTakenError, modelNameOf, type JobStore } from "./store.ts";
import { registerVersion, type ModelRegistry } from "./worker.ts";

export interface TrainingRoutesArgs {
  jobs: JobStore;
  storage: StorageClient;
  registry: ModelRegistry;
  /** Tells this replica's worker that a job is waiting, so that it need not wait for its poll. */
  wake: () => void;
  /** What one user may have (DEFAULT_JOB_LIMITS in a deployment). */
  perUser: JobLimits;
}

/**
 * `POST /v1/training/jobs` queues a job (202) that a worker of any replica runs; `GET` shows it.
 * A corpus given as a file must be the caller's own training file.
 */
export function trainingRoutes(app: Express, args: TrainingRoutesArgs): void {
  const { jobs, storage } = args;
  const notSucceeded = (status: string) =>
    new ApiError(
      409,
      "invalid_request_error",
      "job_not_succeeded",
      `the job is ${status}: only a succeeded job has a model`,
    );

  app.post("/v1/training/jobs", ...jsonBody("512kb"), async (req, res) => {
    res.locals.route = "/v1/training";
    const { userId } = principalFrom(req.headers);
    const input = parse(createJobBody, req.body);
    const idempotency = idempotencyOf(req.headers, input);
    if ("file_id" in input.corpus) {
      const file = await storage.info(input.corpus.file_id);
      if (!file || file.user_id !== userId)
        throw new ApiError(
          404,
          "not_found_error",
          "file_not_found",
          `no file ${input.corpus.file_id}`,
          "corpus.file_id",
        );
      if (file.purpose !== "fine-tune")
        throw new ApiError(
          400,
          "invalid_request_error",
          "invalid_file_purpose",
          `corpus.file_id: a corpus is a file of purpose fine-tune, not ${file.purpose}`,
          "corpus.file_id",
        );
    }
    let result;
    try {
      result = await jobs.create(userId, input, idempotency, args.perUser);
    } catch (err) {
      if (err instanceof JobLimitReached) throw limitReached("training_limit_reached", err.message);
      if (err instanceof NameTakenError)
        throw new ApiError(
          409,
          "invalid_request_error",
          "model_name_taken",
          `the model ${err.message} belongs to another user; choose another suffix`,
          "suffix",
        );
      throw err;
    }
    if (result.kind === "conflict") throw idempotencyKeyReused();
    if (result.kind === "replayed") res.setHeader("idempotent-replayed", "true");
    else args.wake();
    res.locals.decision = result.value.id;
    res
      .status(202)
      .setHeader("location", `/v1/training/jobs/${result.value.id}`)
      .json(result.value);
  });

  app.get("/v1/training/jobs", async (req, res) => {
    res.locals.route = "/v1/training";
    const { userId } = principalFrom(req.headers);
    res.json(listBody(await jobs.list(userId, parse(listJobsQuery, req.query, "query"))));
  });

  app.get("/v1/training/jobs/:id", async (req, res) => {
    res.locals.route = "/v1/training";
    const { userId } = principalFrom(req.headers);
    const id = parse(jobId, req.params.id, "job_id");
    const job = await jobs.get(userId, id);
    if (!job) throw notFound("job_not_found", `no training job ${id}`);
    res.json(job);
  });

  app.post("/v1/training/jobs/:id/evaluations", ...jsonBody("512kb"), async (req, res) => {
    res.locals.route = "/v1/training";
    const { userId } = principalFrom(req.headers);
    const id = parse(jobId, req.params.id, "job_id");
    const { text } = parse(evaluateBody, req.body);
    const job = await jobs.get(userId, id);
    if (!job) throw notFound("job_not_found", `no training job ${id}`);
    if (job.status !== "succeeded" || !job.result_file) throw notSucceeded(job.status);
    const data = await storage.content(job.result_file);
    if (!data) throw notFound("file_not_found", `the job's model file ${job.result_file} is gone`);
    const model = new NgramModel(ngramSnapshot.parse(JSON.parse(data.toString("utf8"))));
    let score;
    try {
      score = model.crossEntropy(text);
    } catch (err) {
      throw badRequest("invalid_parameter", `text: ${(err as Error).message}`, "text");
    }
    const evaluation: Evaluation = {
      object: "training.evaluation",
      job: id,
      model: job.model,
      tokens: score.tokens,
      cross_entropy_bits: Math.round(score.bits * 10_000) / 10_000,
      perplexity: Math.round(2 ** score.bits * 1_000) / 1_000,
    };
    res.json(evaluation);
  });

  // Registers a job's stored model (a job created with `register: false`); a job whose model is
  // registered already answers as it is, so a repeat registers nothing twice.
  app.post("/v1/training/jobs/:id/register", async (req, res) => {
    res.locals.route = "/v1/training";
    const { userId } = principalFrom(req.headers);
    const id = parse(jobId, req.params.id, "job_id");
    const found = await jobs.stored(userId, id);
    if (!found) throw notFound("job_not_found", `no training job ${id}`);
    const { job, sha256 } = found;
    if (!job.model) {
      if (job.status !== "succeeded" || !job.result_file || !sha256) throw notSucceeded(job.status);
      const version = await registerVersion(args.registry, {
        id,
        userId,
        modelName: modelNameOf(job.suffix),
        hyperparameters: job.hyperparameters,
        file: { id: job.result_file, sha256 },
      });
      await jobs.recordModel(userId, id, version.id);
    }
    res.json(await jobs.get(userId, id));
  });
}
