import { resolve } from "node:path";
import { z } from "zod";
import { envKey, fields, loadEnv } from "../shared/config.ts";
import type { Logger } from "../shared/logger.ts";
import { runService } from "../shared/service.ts";
import { ReplicaSet } from "../shared/upstream.ts";
import { StorageClient } from "../storage/client.ts";
import { inferenceRoutes } from "./app.ts";
import { builtinBackend, readCorpus } from "./builtin.ts";
import { languageBackend } from "./llm/backend.ts";
import { LanguageModel, ModelFileError } from "./llm/languageModel.ts";
import { defaultModelPath } from "./llm/modelFile.ts";
import { NgramModel } from "./ngram.ts";
import { TrainedModels } from "./trained.ts";
import { upstreamBackend } from "./upstream.ts";

const env = loadEnv(
  {
    upstreamUrl: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
    upstreamApiKey: z.string().min(1).optional(),
    maxConcurrent: z.coerce.number().int().min(1).max(10_000).default(32),
    corpusDir: fields.dataDir.default(resolve(import.meta.dirname, "corpus")),
    maxTrainedModels: z.coerce.number().int().min(1).max(1_000).default(8),
    storage: fields.urls.optional(),
    llm: z.enum(["on", "off"], { error: 'must be "on" or "off"' }).default("on"),
    llmModelFile: z.string().min(1).default(defaultModelPath()),
    llmThreads: z.coerce.number().int().min(1).max(64).default(1),
    llmContextTokens: z.coerce.number().int().min(256).max(8_192).default(2_048),
    llmMaxWaiting: z.coerce.number().int().min(0).max(1_000).default(4),
  },
  {
    upstreamUrl: "INFERENCE_UPSTREAM_URL",
    upstreamApiKey: "INFERENCE_UPSTREAM_API_KEY",
    maxConcurrent: "INFERENCE_MAX_CONCURRENT",
    corpusDir: "INFERENCE_CORPUS_DIR",
    maxTrainedModels: "INFERENCE_MAX_TRAINED_MODELS",
    // Trained models' files (catalog: inference calls storage).
    storage: envKey.upstream("storage"),
    // The language model (docs/chat.md): "off" leaves the n-gram model alone, as a fallback.
    llm: "INFERENCE_LLM",
    llmModelFile: "INFERENCE_LLM_MODEL_FILE",
    llmThreads: "INFERENCE_LLM_THREADS",
    llmContextTokens: "INFERENCE_LLM_CONTEXT_TOKENS",
    llmMaxWaiting: "INFERENCE_LLM_MAX_WAITING",
  },
);

// The model loads (in llama.cpp's own threads) while the service starts, not after: it is the
// slowest part of the start, and `npm start` waits for every replica (issue #21).
const loading = env.llm === "on" ? startLoading() : undefined;

await runService({
  name: "inference",
  migrations: [],
  routes: async (app, { logger, principalSecret }) => {
    const started = performance.now();
    const model = new NgramModel(readCorpus(env.corpusDir));
    logger.info(
      {
        corpus: env.corpusDir,
        sentences: model.sentenceCount,
        vocabulary: model.vocabularySize,
        ms: Math.round(performance.now() - started),
        upstream: env.upstreamUrl ?? null,
      },
      "built-in model trained",
    );
    const storageSet =
      env.storage &&
      new ReplicaSet("storage", env.storage, {
        signWith: principalSecret,
        healthIntervalMs: 1_000,
        headersTimeoutMs: 10_000,
      });
    const trained =
      storageSet &&
      new TrainedModels((id) => new StorageClient(storageSet).content(id), env.maxTrainedModels);
    const llm = loading && (await loadedLanguageModel(await loading, logger));
    inferenceRoutes(app, {
      builtin: languageBackend({
        model: llm,
        ngram: builtinBackend(new Map([["default", model]]), trained),
        logger,
      }),
      upstream: env.upstreamUrl
        ? upstreamBackend({ baseUrl: env.upstreamUrl, apiKey: env.upstreamApiKey })
        : undefined,
      maxConcurrent: env.maxConcurrent,
      logger,
    });
    return async () => {
      await storageSet?.close();
      await llm?.close();
    };
  },
});

type Loading = { model: LanguageModel } | { err: unknown };

function startLoading(): Promise<Loading> {
  return LanguageModel.load({
    path: env.llmModelFile,
    threads: env.llmThreads,
    contextTokens: env.llmContextTokens,
    maxWaiting: env.llmMaxWaiting,
  }).then(
    (model) => ({ model }),
    (err: unknown) => ({ err }),
  );
}

/**
 * A missing or damaged model file stops the service (the operator's to fix, with the command the
 * error names); a model that llama.cpp cannot run here (no prebuilt binary for this CPU, too
 * little memory) leaves the n-gram model to answer, with the reason in the log.
 */
function loadedLanguageModel(loading: Loading, logger: Logger): LanguageModel | undefined {
  if ("model" in loading) {
    logger.info(
      { file: env.llmModelFile, threads: env.llmThreads, ms: Math.round(loading.model.loadMs) },
      "language model loaded",
    );
    return loading.model;
  }
  if (loading.err instanceof ModelFileError) throw loading.err;
  logger.error(
    { err: loading.err, file: env.llmModelFile },
    "language model failed to load: n-gram fallback",
  );
  return undefined;
}
