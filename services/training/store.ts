import { randomBytes } from "node:crypto";
import { createOnce, type CreateResult, type Idempotency } from "../shared/idempotency.ts";
import { newId } from "../shared/ids.ts";
import { ownedPage, type Page } from "../shared/pagination.ts";
import type { Db } from "../shared/sql/db.ts";
import {
  TRAINED_PREFIX,
  type CreateJob,
  type JobLimits,
  type Hyperparameters,
  type JobStatus,
  type TrainingJob,
} from "./contract.ts";

export const migrations = [
  `
CREATE TABLE jobs (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  suffix TEXT NOT NULL,
  corpus_file TEXT,
  corpus_text TEXT,
  hyperparameters TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  lease_token TEXT,
  lease_until BIGINT,
  run_after BIGINT NOT NULL,
  result_file TEXT,
  result_sha256 TEXT,
  model_id TEXT,
  trained TEXT,
  error TEXT,
  idempotency_key TEXT,
  request_hash TEXT,
  created_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT,
  UNIQUE (user_id, idempotency_key)
);
CREATE INDEX jobs_user ON jobs (user_id, id);
CREATE INDEX jobs_ready ON jobs (status, run_after);
CREATE TABLE model_names (
  name TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  created_at TEXT NOT NULL
);
`,
  // Jobs that store their model and leave registering it to a later request (`register: false`).
  `ALTER TABLE jobs ADD COLUMN register_model INTEGER NOT NULL DEFAULT 1;`,
];

interface Row {
  id: string;
  user_id: string;
  suffix: string;
  corpus_file: string | null;
  corpus_text: string | null;
  hyperparameters: string;
  register_model: number | string;
  status: string;
  attempts: number | string;
  lease_token: string | null;
  lease_until: number | string | null;
  run_after: number | string;
  result_file: string | null;
  result_sha256: string | null;
  model_id: string | null;
  trained: string | null;
  error: string | null;
  request_hash: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

const unix = (iso: string | null) => (iso === null ? null : Math.floor(Date.parse(iso) / 1000));

const toJob = (r: Row): TrainingJob => ({
  id: r.id,
  object: "training.job",
  status: r.status as JobStatus,
  suffix: r.suffix,
  model: r.model_id,
  corpus:
    r.corpus_file !== null
      ? { file_id: r.corpus_file }
      : { inline_bytes: Buffer.byteLength(r.corpus_text ?? "") },
  hyperparameters: JSON.parse(r.hyperparameters) as Hyperparameters,
  register: Number(r.register_model) === 1,
  result_file: r.result_file,
  trained: r.trained === null ? null : (JSON.parse(r.trained) as TrainingJob["trained"]),
  error: r.error === null ? null : (JSON.parse(r.error) as TrainingJob["error"]),
  attempts: Number(r.attempts),
  created_at: unix(r.created_at)!,
  started_at: unix(r.started_at),
  finished_at: unix(r.finished_at),
});

/** A job one worker holds: `token` fences every write, so a worker whose lease expired changes nothing. */
export interface ClaimedJob {
  id: string;
  userId: string;
  modelName: string;
  corpus: { fileId: string } | { text: string };
  hyperparameters: Hyperparameters;
  attempts: number;
  token: string;
  /** Whether to register the model once stored (`register` of the request). */
  register: boolean;
  /** Progress a previous attempt recorded, so that a rerun does not store or register twice. */
  resultFile: { id: string; sha256: string } | null;
  modelId: string | null;
}

export const modelNameOf = (suffix: string) => `${TRAINED_PREFIX}${suffix}`;

/** The model name belongs to another user (names are global in the registry). */
export class NameTakenError extends Error {}

/** The user has as many jobs as `JobLimits` allows (the message says which limit). */
export class JobLimitReached extends Error {}

export function jobStore(db: Db, now: () => number = Date.now) {
  const fenced = async (job: ClaimedJob, set: string, params: unknown[]): Promise<boolean> => {
    const rows = await db.query<{ id: string }>(
      `UPDATE jobs SET ${set} WHERE id = $1 AND lease_token = $2 AND status = 'running' RETURNING id`,
      [job.id, job.token, ...params],
    );
    return rows.length === 1;
  };
  return {
    /**
     * Queues a job. The model name is claimed for the user on first use: another user's job
     * with the same suffix is refused, since it would add a version to someone else's model.
     */
    create(
      userId: string,
      input: CreateJob,
      idempotency?: Idempotency,
      limits?: JobLimits,
    ): Promise<CreateResult<TrainingJob>> {
      return createOnce<Row, TrainingJob>(db, {
        idempotency,
        table: "jobs",
        owner: userId,
        toValue: toJob,
        create: async (tx) => {
          const name = modelNameOf(input.suffix);
          const at = new Date(now()).toISOString();
          await tx.query(
            "INSERT INTO model_names (name, user_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
            [name, userId, at],
          );
          const [owner] = await tx.query<{ user_id: string }>(
            "SELECT user_id FROM model_names WHERE name = $1",
            [name],
          );
          if (owner?.user_id !== userId) throw new NameTakenError(name);
          if (limits) {
            // One user's jobs are counted one request at a time (SQLite has one writer anyway).
            if (tx.engine === "postgres")
              await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`jobs:${userId}`]);
            const [held] = await tx.query<{ total: number | string; pending: number | string }>(
              `SELECT COUNT(*) AS total,
                 SUM(CASE WHEN status IN ('queued', 'running') THEN 1 ELSE 0 END) AS pending
               FROM jobs WHERE user_id = $1`,
              [userId],
            );
            if (Number(held!.pending ?? 0) >= limits.pending)
              throw new JobLimitReached(
                `you have ${limits.pending} jobs queued or running, the most at once; wait for one to finish`,
              );
            if (Number(held!.total) >= limits.total)
              throw new JobLimitReached(
                `you have made ${limits.total} training jobs, the most a user may`,
              );
          }
          const id = newId("trjob");
          await tx.query(
            `INSERT INTO jobs (id, user_id, suffix, corpus_file, corpus_text, hyperparameters, status,
               run_after, idempotency_key, request_hash, created_at, register_model)
             VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $8, $9, $10, $11)`,
            [
              id,
              userId,
              input.suffix,
              "file_id" in input.corpus ? input.corpus.file_id : null,
              "text" in input.corpus ? input.corpus.text : null,
              JSON.stringify(input.hyperparameters),
              now(),
              idempotency?.key ?? null,
              idempotency?.requestHash ?? null,
              at,
              input.register ? 1 : 0,
            ],
          );
          const [row] = await tx.query<Row>("SELECT * FROM jobs WHERE id = $1", [id]);
          return toJob(row!);
        },
      });
    },

    async get(userId: string, id: string): Promise<TrainingJob | undefined> {
      const rows = await db.query<Row>("SELECT * FROM jobs WHERE user_id = $1 AND id = $2", [
        userId,
        id,
      ]);
      return rows[0] && toJob(rows[0]);
    },

    list(userId: string, page: { limit: number; after?: string }): Promise<Page<TrainingJob>> {
      return ownedPage(db, "jobs", userId, page, toJob);
    },

    /**
     * Takes the oldest job that is due: queued, or running under a lease that expired (its
     * worker died). One statement does it, so two workers never take the same job: PostgreSQL
     * skips rows another transaction holds (SKIP LOCKED), SQLite runs one writer at a time.
     */
    async claim(leaseMs: number): Promise<ClaimedJob | undefined> {
      const at = now();
      const token = randomBytes(12).toString("hex");
      const lock = db.engine === "postgres" ? " FOR UPDATE SKIP LOCKED" : "";
      const rows = await db.query<Row>(
        `UPDATE jobs SET status = 'running', lease_token = $1, lease_until = $2,
           attempts = attempts + 1, started_at = COALESCE(started_at, $3)
         WHERE id = (
           SELECT id FROM jobs
           WHERE (status = 'queued' AND run_after <= $4) OR (status = 'running' AND lease_until < $4)
           ORDER BY run_after, id LIMIT 1${lock}
         )
         RETURNING *`,
        [token, at + leaseMs, new Date(at).toISOString(), at],
      );
      const r = rows[0];
      if (!r) return undefined;
      return {
        id: r.id,
        userId: r.user_id,
        modelName: modelNameOf(r.suffix),
        corpus: r.corpus_file !== null ? { fileId: r.corpus_file } : { text: r.corpus_text ?? "" },
        hyperparameters: JSON.parse(r.hyperparameters) as Hyperparameters,
        register: Number(r.register_model) === 1,
        attempts: Number(r.attempts),
        token,
        resultFile:
          r.result_file && r.result_sha256 ? { id: r.result_file, sha256: r.result_sha256 } : null,
        modelId: r.model_id,
      };
    },

    /** A succeeded job's model file, with its digest, for registering it on request. */
    async stored(
      userId: string,
      id: string,
    ): Promise<{ job: TrainingJob; sha256: string | null } | undefined> {
      const [row] = await db.query<Row>("SELECT * FROM jobs WHERE user_id = $1 AND id = $2", [
        userId,
        id,
      ]);
      return row && { job: toJob(row), sha256: row.result_sha256 };
    },

    /** Records the version a request registered; false if the job has one already. */
    async recordModel(userId: string, id: string, modelId: string): Promise<boolean> {
      const rows = await db.query(
        `UPDATE jobs SET model_id = $3
         WHERE user_id = $1 AND id = $2 AND status = 'succeeded' AND model_id IS NULL RETURNING id`,
        [userId, id, modelId],
      );
      return rows.length === 1;
    },

    /** Extends the lease of a job still held; false when it was lost (then stop working on it). */
    renew(job: ClaimedJob, leaseMs: number): Promise<boolean> {
      return fenced(job, "lease_until = $3", [now() + leaseMs]);
    },

    saveResultFile(job: ClaimedJob, file: { id: string; sha256: string }): Promise<boolean> {
      return fenced(job, "result_file = $3, result_sha256 = $4", [file.id, file.sha256]);
    },

    saveModel(job: ClaimedJob, modelId: string): Promise<boolean> {
      return fenced(job, "model_id = $3", [modelId]);
    },

    succeed(job: ClaimedJob, trained: { sentences: number; vocabulary: number }): Promise<boolean> {
      return fenced(
        job,
        "status = 'succeeded', trained = $3, finished_at = $4, error = NULL, lease_token = NULL, lease_until = NULL",
        [JSON.stringify(trained), new Date(now()).toISOString()],
      );
    },

    fail(job: ClaimedJob, error: { code: string; message: string }): Promise<boolean> {
      return fenced(
        job,
        "status = 'failed', error = $3, finished_at = $4, lease_token = NULL, lease_until = NULL",
        [JSON.stringify(error), new Date(now()).toISOString()],
      );
    },

    /** Back to the queue after a passing failure, due again after `delayMs`. */
    retryLater(
      job: ClaimedJob,
      delayMs: number,
      error: { code: string; message: string },
    ): Promise<boolean> {
      return fenced(
        job,
        "status = 'queued', run_after = $3, error = $4, lease_token = NULL, lease_until = NULL",
        [now() + delayMs, JSON.stringify(error)],
      );
    },
  };
}

export type JobStore = ReturnType<typeof jobStore>;
