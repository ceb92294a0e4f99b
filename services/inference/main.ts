import { resolve } from "node:path";
import { z } from "zod";
import { envKey, fields, loadEnv } from "../shared/config.ts";
import { runService } from "../shared/service.ts";
import { ReplicaSet } from "../shared/upstream.ts";
import { StorageClient } from "../storage/client.ts";
import { inferenceRoutes } from "./app.ts";
import { builtinBackend, readCorpus } from "./builtin.ts";
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
  },
  {
    upstreamUrl: "INFERENCE_UPSTREAM_URL",
    upstreamApiKey: "INFERENCE_UPSTREAM_API_KEY",
    maxConcurrent: "INFERENCE_MAX_CONCURRENT",
    corpusDir: "INFERENCE_CORPUS_DIR",
    maxTrainedModels: "INFERENCE_MAX_TRAINED_MODELS",
    // Trained models' files (catalog: inference calls storage).
    storage: envKey.upstream("storage"),
  },
);

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
    inferenceRoutes(app, {
      builtin: builtinBackend(new Map([["default", model]]), trained),
      upstream: env.upstreamUrl
        ? upstreamBackend({ baseUrl: env.upstreamUrl, apiKey: env.upstreamApiKey })
        : undefined,
      maxConcurrent: env.maxConcurrent,
      logger,
    });
    return async () => {
      await storageSet?.close();
    };
  },
});
