import { resolve } from "node:path";
import { z } from "zod";
import { fields, loadEnv } from "../shared/config.ts";
import { runService } from "../shared/service.ts";
import { inferenceRoutes } from "./app.ts";
import { builtinBackend, readCorpus } from "./builtin.ts";
import { NgramModel } from "./ngram.ts";
import { upstreamBackend } from "./upstream.ts";

const env = loadEnv(
  {
    upstreamUrl: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
    upstreamApiKey: z.string().min(1).optional(),
    maxConcurrent: z.coerce.number().int().min(1).max(10_000).default(32),
    corpusDir: fields.dataDir.default(resolve(import.meta.dirname, "corpus")),
  },
  {
    upstreamUrl: "INFERENCE_UPSTREAM_URL",
    upstreamApiKey: "INFERENCE_UPSTREAM_API_KEY",
    maxConcurrent: "INFERENCE_MAX_CONCURRENT",
    corpusDir: "INFERENCE_CORPUS_DIR",
  },
);

await runService({
  name: "inference",
  migrations: [],
  routes: async (app, { logger }) => {
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
    inferenceRoutes(app, {
      builtin: builtinBackend(new Map([["default", model]])),
      upstream: env.upstreamUrl
        ? upstreamBackend({ baseUrl: env.upstreamUrl, apiKey: env.upstreamApiKey })
        : undefined,
      maxConcurrent: env.maxConcurrent,
      logger,
    });
  },
});
