import { z } from "zod";
import { fileId } from "../storage/contract.ts";

// The model registry's internal API, shared by the model service and its callers (chat, and
// inference which receives the selected model): what a concrete model version is.

export const backends = ["builtin", "upstream"] as const;

/** A name by which callers ask for a model: `ngram-3`, `ngram-3:2`, or an alias. */
export const modelName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, "must be lower-case letters, digits, '.', '_' or '-'");

/**
 * How a backend runs a model: the built-in n-gram's shipped corpus, or a trained n-gram model's
 * file in the storage service (and its SHA-256, checked on load), or the language model file each
 * inference replica loads at start (`gguf`: its name), or the upstream's model name.
 */
export const modelConfig = z.union([
  z.object({ corpus: z.string().min(1) }).strict(),
  z.object({ gguf: z.string().min(1).max(200) }).strict(),
  z
    .object({
      file: fileId,
      sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be a hex SHA-256"),
    })
    .strict(),
  z.object({ model: z.string().min(1).max(200) }).strict(),
]);

export const registerModelBody = z
  .object({
    name: modelName,
    backend: z.enum(backends),
    config: modelConfig,
    contextTokens: z.number().int().min(16).max(1_000_000).default(4_096),
    maxOutputTokens: z.number().int().min(1).max(65_536).default(1_024),
    /** The user whose trained model it is; absent for a model everyone may use. */
    owner: z.string().min(1).max(200).optional(),
    /** What the version comes from (`training:<job id>`); the same source registers once. */
    source: z
      .string()
      .regex(/^[a-z]+:[A-Za-z0-9_.-]{1,120}$/, "source must look like training:<job id>")
      .optional(),
  })
  .strict()
  .refine(
    (m) => (m.backend === "builtin" ? !("model" in m.config) : "model" in m.config),
    "a builtin model's config names a corpus, a trained file or a GGUF file, an upstream model's config names a model",
  );

export const selectBody = z.object({ model: z.string().min(1).max(200) }).strict();

export const aliasBody = z
  .object({ name: modelName, version: z.number().int().min(1).optional() })
  .strict();

/** One concrete model version, as selection returns it. */
export interface ModelVersion {
  /** `name:version`, unique. */
  id: string;
  name: string;
  version: number;
  backend: (typeof backends)[number];
  config: z.infer<typeof modelConfig>;
  contextTokens: number;
  maxOutputTokens: number;
  createdAt: string;
}

export interface Selection {
  /** The name the caller asked for (an alias, a name, or `name:version`). */
  requested: string;
  model: ModelVersion;
}

/** One entry of `GET /v1/models`, as the OpenAI API shapes it. */
export const modelEntry = z
  .object({
    id: z.string().meta({ description: "An alias, or a version's `name:version`" }),
    object: z.literal("model"),
    created: z.number().int(),
    owned_by: z.string().meta({ description: "`platform` (built in, trained) or `upstream`" }),
  })
  .strict()
  .meta({ id: "Model", description: "A model the caller may complete with" });
export type ModelEntry = z.infer<typeof modelEntry>;

/**
 * `GET /v1/models`: a page of the entries in the OpenAI API's cursor shape, which the official
 * clients read as a plain list when they do not page.
 */
export const modelList = z
  .object({
    object: z.literal("list"),
    data: z.array(modelEntry),
    has_more: z.boolean(),
    first_id: z.string().nullable(),
    last_id: z.string().nullable(),
  })
  .strict();
export type ModelList = z.infer<typeof modelList>;

/** `?limit=&after=` of `GET /v1/models`: `after` is the id of the last entry of the page before. */
export const modelPageQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(1_000).default(100),
    after: z.string().min(1).max(200).optional(),
  })
  .strict();
export type ModelPageQuery = z.output<typeof modelPageQuery>;
