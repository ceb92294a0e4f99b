import type { Express } from "express";
import { ApiError, limitReached, notFound } from "../shared/errors.ts";
import { idempotencyKeyReused, idempotencyOf } from "../shared/idempotency.ts";
import { listBody } from "../shared/pagination.ts";
import { principalFrom } from "../shared/principal.ts";
import { jsonBody, parse } from "../shared/validation.ts";
import type { StorageClient } from "../storage/client.ts";
import { createJobBody, jobId, listJobsQuery, type JobLimits } from "./contract.ts";
import { JobLimitReached, NameTakenError, type JobStore } from "./store.ts";

export interface TrainingRoutesArgs {
  jobs: JobStore;
  storage: StorageClient;
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
}
