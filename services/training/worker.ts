import { ApiError } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import { callService, errorFrom } from "../shared/serviceCall.ts";
import type { ReplicaSet } from "../shared/upstream.ts";
import { keepLease, startWorkLoop, type WorkLoop } from "../shared/workLoop.ts";
import type { ModelVersion } from "../model/contract.ts";
import { NgramModel } from "../inference/ngram.ts";
import type { StorageClient } from "../storage/client.ts";
import type { Hyperparameters } from "./contract.ts";
import type { ClaimedJob, JobStore } from "./store.ts";

/** The model registry's internal API, as training uses it: a new version of a trained model. */
export class ModelRegistry {
  private readonly set: ReplicaSet;
  constructor(set: ReplicaSet) {
    this.set = set;
  }

  async register(body: {
    name: string;
    backend: "builtin";
    config: { file: string; sha256: string };
    contextTokens: number;
    maxOutputTokens: number;
    source: string;
    owner: string;
  }): Promise<ModelVersion> {
    // Safe to resend: the registry answers a source it has seen with the version it made (200).
    const res = await callService(this.set, {
      method: "POST",
      path: "/internal/models",
      body,
      retryable: true,
    });
    if (res.statusCode !== 201 && res.statusCode !== 200)
      throw await errorFrom(res.statusCode, res.body, this.set.name);
    return (await res.body.json()) as ModelVersion;
  }
}

export interface WorkerArgs {
  jobs: JobStore;
  storage: StorageClient;
  registry: ModelRegistry;
  logger: Logger;
  /** How long a claim lasts without renewal; a dead worker's job is taken again after it. */
  leaseMs: number;
  /** Wait between looks at an empty queue. */
  pollMs: number;
  /** Tries of one job before it fails for good. */
  maxAttempts: number;
}

/** A failure that another try cannot fix: the job fails at once. */
class JobError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** Lost the lease: another worker has the job now, so this one stops touching it. */
class LeaseLost extends Error {}

/** 4xx answers are the job's own fault (no retry), the rest may pass. */
function permanent(err: unknown): boolean {
  return err instanceof JobError || (err instanceof ApiError && err.status < 500);
}

/**
 * One job, start to end: corpus -> n-gram model -> model file in storage -> new version in the
 * registry. Each step's result is recorded under the job's lease before the next, so a rerun
 * after a crash (another replica, once the lease expired) resumes after the last recorded step.
 */
export async function runJob(job: ClaimedJob, args: WorkerArgs): Promise<void> {
  const { jobs, storage, registry } = args;
  const held = (ok: boolean) => {
    if (!ok) throw new LeaseLost(job.id);
  };
  let text: string;
  if ("fileId" in job.corpus) {
    const data = await storage.content(job.corpus.fileId);
    if (!data)
      throw new JobError("corpus_not_found", `the corpus file ${job.corpus.fileId} is gone`);
    text = data.toString("utf8");
  } else {
    text = job.corpus.text;
  }
  let model: NgramModel;
  try {
    model = new NgramModel(text);
  } catch (err) {
    throw new JobError("invalid_corpus", (err as Error).message);
  }
  const trained = { sentences: model.sentenceCount, vocabulary: model.vocabularySize };
  let file = job.resultFile;
  if (!file) {
    const data = Buffer.from(
      JSON.stringify(model.toSnapshot({ minCount: job.hyperparameters.min_count })),
    );
    const stored = await storage.upload({
      userId: job.userId,
      purpose: "model",
      filename: `${job.modelName}.${job.id}.json`,
      contentType: "application/json",
      data,
    });
    file = { id: stored.id, sha256: stored.sha256 };
    held(await jobs.saveResultFile(job, file));
  }
  if (!job.modelId && job.register) {
    const version = await registerVersion(registry, { ...job, file });
    held(await jobs.saveModel(job, version.id));
    args.logger.info({ job: job.id, model: version.id, file: file.id }, "training: registered");
  }
  held(await jobs.succeed(job, trained));
}

/** A trained model's file as a new version of the job's model in the registry. */
export function registerVersion(
  registry: ModelRegistry,
  job: {
    id: string;
    userId: string;
    modelName: string;
    hyperparameters: Hyperparameters;
    file: { id: string; sha256: string };
  },
) {
  return registry.register({
    name: job.modelName,
    backend: "builtin",
    config: { file: job.file.id, sha256: job.file.sha256 },
    contextTokens: job.hyperparameters.context_tokens,
    maxOutputTokens: job.hyperparameters.max_output_tokens,
    // A rerun after a crash between registering and recording it finds the same version.
    source: `training:${job.id}`,
    // It repeats its corpus: only the job's owner (and admins) may see and use it.
    owner: job.userId,
  });
}

/**
 * Claims and runs jobs one at a time while the service runs. Any replica may take any job; the
 * lease is renewed while a job runs, so only a dead (or stuck) worker loses it.
 */
export function startWorker(args: WorkerArgs): WorkLoop {
  const once = async (): Promise<boolean> => {
    const job = await args.jobs.claim(args.leaseMs);
    if (!job) return false;
    const log = args.logger.child({ job: job.id, attempt: job.attempts });
    if (job.attempts > args.maxAttempts) {
      await args.jobs.fail(job, {
        code: "too_many_attempts",
        message: `the job was tried ${args.maxAttempts} times`,
      });
      return true;
    }
    const release = keepLease(args.leaseMs, () => args.jobs.renew(job, args.leaseMs), log);
    try {
      await runJob(job, args);
      log.info("training: job succeeded");
    } catch (err) {
      if (err instanceof LeaseLost) {
        log.warn("training: lease lost, another worker has the job");
      } else {
        const code =
          err instanceof JobError || err instanceof ApiError ? err.code : "internal_error";
        const message = (err as Error).message;
        if (permanent(err) || job.attempts >= args.maxAttempts) {
          await args.jobs.fail(job, { code, message });
          log.warn({ code, message }, "training: job failed");
        } else {
          const delay = Math.min(30_000, 1_000 * 2 ** (job.attempts - 1));
          await args.jobs.retryLater(job, delay, { code, message });
          log.warn({ code, message, delay }, "training: job will be retried");
        }
      }
    } finally {
      release();
    }
    return true;
  };

  return startWorkLoop("training", args.pollMs, args.logger, once);
}
