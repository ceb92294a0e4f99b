import { z } from "zod";
import { idSchema } from "../shared/ids.ts";
import { listOf, pageQuery } from "../shared/pagination.ts";
import { fileId } from "../storage/contract.ts";

// The training API's shapes: the requests, shared by the service and the gateway's validation,
// and the answers, published in the API's description and held to the real ones in tests.

export const jobId = idSchema("trjob", "a training job id");

/** Inline corpora above this go through storage (`POST /v1/files`) instead. */
export const MAX_INLINE_CORPUS_BYTES = 256 * 1024;

/** Text sent in a request body: not empty, at most MAX_INLINE_CORPUS_BYTES; `hint` ends the refusal. */
const inlineText = (hint: string) =>
  z
    .string()
    .min(1)
    .refine(
      (t) => Buffer.byteLength(t) <= MAX_INLINE_CORPUS_BYTES,
      `must be at most ${MAX_INLINE_CORPUS_BYTES} bytes${hint}`,
    );

/**
 * What one user may have: jobs waiting or running (a queue any user could fill otherwise), and
 * jobs in all, since each one that succeeds keeps a model file and a registered version.
 */
export interface JobLimits {
  pending: number;
  total: number;
}
export const DEFAULT_JOB_LIMITS: JobLimits = { pending: 3, total: 100 };

/** Trained models are named `ft-<suffix>`, so they never collide with shipped or upstream models. */
export const TRAINED_PREFIX = "ft-";

const hyperparameterFields = {
  min_count: z.number().int().min(1).max(100),
  max_output_tokens: z.number().int().min(1).max(4096),
  context_tokens: z.number().int().min(16).max(65_536),
};

export const hyperparameters = z
  .object({
    /**
     * Drops the two- and three-word continuations seen fewer times than this: a higher value
     * gives a smaller, less literal model. Default 1 (keep everything).
     */
    min_count: hyperparameterFields.min_count.default(1),
    /** The registered version's output cap (tokens). Default 256. */
    max_output_tokens: hyperparameterFields.max_output_tokens.default(256),
    /** The registered version's context window (tokens). Default 4096. */
    context_tokens: hyperparameterFields.context_tokens.default(4096),
  })
  .strict();

const suffix = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,39}$/, "must be 1-40 lower-case letters, digits or '-'");

export const createJobBody = z
  .object({
    /** The model's name is `ft-<suffix>`; each new job with the same suffix adds a version. */
    suffix,
    corpus: z.union([
      z.object({ file_id: fileId }).strict(),
      z
        .object({
          text: inlineText("; upload larger corpora with POST /v1/files"),
        })
        .strict(),
    ]),
    /**
     * Register the trained model as a new version as soon as it is stored (default). False keeps
     * the file only, for `POST /v1/training/jobs/{id}/register` to register later, for example
     * once an evaluation shows it beats the model in use.
     */
    register: z.boolean().default(true),
    hyperparameters: hyperparameters.default({
      min_count: 1,
      max_output_tokens: 256,
      context_tokens: 4096,
    }),
  })
  .strict();

export type CreateJob = z.output<typeof createJobBody>;
export type Hyperparameters = z.output<typeof hyperparameters>;

export const listJobsQuery = pageQuery(jobId);

/** Held-out text to score a trained model on (`POST /v1/training/jobs/{id}/evaluations`). */
export const evaluateBody = z
  .object({
    text: inlineText(""),
  })
  .strict();

/** A trained model's score on held-out text: lower cross-entropy is better. */
export const evaluationSchema = z
  .object({
    object: z.literal("training.evaluation"),
    job: jobId,
    model: z
      .string()
      .nullable()
      .meta({ description: "The registered version, if the job's model is registered" }),
    tokens: z.number().int().min(0),
    cross_entropy_bits: z.number().min(0).meta({ description: "Mean bits per token" }),
    perplexity: z.number().min(0),
  })
  .strict()
  .meta({ id: "TrainingEvaluation", description: "A trained model's score on held-out text" });
export type Evaluation = z.infer<typeof evaluationSchema>;

export const jobStatuses = ["queued", "running", "succeeded", "failed"] as const;
export type JobStatus = (typeof jobStatuses)[number];

/** A training job as the API shows it. */
export const trainingJobSchema = z
  .object({
    id: jobId,
    object: z.literal("training.job"),
    status: z.enum(jobStatuses),
    suffix,
    model: z.string().nullable().meta({
      description: "The registered model version (`ft-<suffix>:<n>`) once registered",
    }),
    corpus: z.union([
      z.object({ file_id: fileId }).strict(),
      z.object({ inline_bytes: z.number().int().min(0) }).strict(),
    ]),
    hyperparameters: z.object(hyperparameterFields).strict(),
    register: z.boolean().meta({
      description: "Whether the job registers its model itself (else `POST .../register` does)",
    }),
    result_file: fileId.nullable().meta({
      description:
        "The trained model's file in storage (purpose `model`), owned by the job's owner",
    }),
    trained: z
      .object({ sentences: z.number().int().min(0), vocabulary: z.number().int().min(0) })
      .strict()
      .nullable(),
    error: z.object({ code: z.string(), message: z.string() }).strict().nullable(),
    attempts: z.number().int().min(0),
    created_at: z.number().int(),
    started_at: z.number().int().nullable(),
    finished_at: z.number().int().nullable(),
  })
  .strict()
  .meta({ id: "TrainingJob", description: "A training job and its state" });
export type TrainingJob = z.infer<typeof trainingJobSchema>;
export const trainingJobList = listOf(trainingJobSchema);
