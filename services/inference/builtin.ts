import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { randomInt } from "node:crypto";
import { ApiError } from "../shared/errors.ts";
import type { GenerateRequest } from "./contract.ts";
import type { Backend, Generation } from "./generation.ts";
import type { NgramModel } from "./ngram.ts";
import type { TrainedModels } from "./trained.ts";
import { countPromptTokens, joinToken } from "./tokenizer.ts";

/** Reads every `*.txt` of a corpus folder, in name order so that training is reproducible. */
export function readCorpus(dir: string): string {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".txt"))
    .sort();
  if (files.length === 0) throw new Error(`corpus ${dir}: no .txt file`);
  return files.map((f) => readFileSync(join(dir, f), "utf8")).join("\n");
}

/** Upper-cases the start of each sentence and the word "i": the model itself is lower-case. */
function cased(token: string, sentenceStart: boolean): string {
  if (token === "i" || sentenceStart) return token.charAt(0).toUpperCase() + token.slice(1);
  return token;
}

/**
 * The built-in backend: n-gram models by corpus name, trained when the service starts, and
 * models trained by the training service, loaded from storage (`trained`). It answers the last
 * user message; a model whose corpus this replica lacks is a 503 (the registry and the
 * deployment disagree, which a retry elsewhere may not fix but the caller must not be blamed).
 */
export function builtinBackend(
  corpora: ReadonlyMap<string, NgramModel>,
  trained?: TrainedModels,
): Backend {
  return {
    async start(req: GenerateRequest): Promise<Generation> {
      const config = req.model.config;
      if ("file" in config && !trained) {
        throw new ApiError(
          503,
          "service_unavailable",
          "model_unavailable",
          `model ${req.model.id} is a trained model, and this replica cannot reach storage`,
        );
      }
      const corpus = "corpus" in config ? config.corpus : undefined;
      const model =
        "file" in config
          ? await trained!.load(config)
          : corpus === undefined
            ? undefined
            : corpora.get(corpus);
      if (!model) {
        throw new ApiError(
          503,
          "service_unavailable",
          "model_unavailable",
          `model ${req.model.id} needs corpus ${JSON.stringify(corpus)}, which this replica does not have`,
        );
      }
      const prompt = req.messages.findLast((m) => m.role === "user")?.content ?? "";
      const generated = model.generate({
        prompt,
        maxTokens: req.maxTokens,
        temperature: req.temperature,
        topP: req.topP,
        seed: req.seed ?? randomInt(2 ** 31),
      });
      let completionTokens = 0;
      async function* pieces(): AsyncGenerator<string> {
        let previous: string | undefined;
        for (const token of generated.tokens) {
          completionTokens++;
          const sentenceStart = previous === undefined || /^[.!?]$/.test(previous);
          yield joinToken(previous, cased(token, sentenceStart));
          previous = token;
        }
      }
      return {
        pieces: pieces(),
        result: () => ({
          finishReason: generated.finishReason(),
          usage: { promptTokens: countPromptTokens(req.messages), completionTokens },
        }),
      };
    },
  };
}
