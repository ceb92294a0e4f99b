import { randomUUID } from "node:crypto";
import { ApiError } from "../../shared/errors.ts";
import type { Logger } from "../../shared/logger.ts";
import { BUILTIN_MODEL } from "../../model/store.ts";
import type { GenerateRequest, ToolCall } from "../contract.ts";
import type { Backend, Generation } from "../generation.ts";
import {
  answerShape,
  asText,
  toolCallOf,
  toolInstructions,
  type AnswerShape,
} from "./constrained.ts";
import type { ChatGeneration, LanguageModel } from "./languageModel.ts";
import { SMOLLM2 } from "./modelFile.ts";

export interface LanguageBackendArgs {
  /** Absent when it could not load: the n-gram model answers in its place. */
  model: LanguageModel | undefined;
  /** The n-gram backend: its own models, and the fallback. */
  ngram: Backend;
  logger: Logger;
}

/** What `system_fingerprint` says when the n-gram model stands in for the language model. */
export const FALLBACK_FINGERPRINT = `${BUILTIN_MODEL}-fallback`;

const busy = () =>
  new ApiError(
    503,
    "service_unavailable",
    "server_overloaded",
    "the language model is busy; retry shortly",
  );

/** Starts a generation on the model the caller holds, constrained to the answer's shape. */
async function generateOn(
  model: LanguageModel,
  req: GenerateRequest,
  shape: AnswerShape,
  signal: AbortSignal,
): Promise<ChatGeneration> {
  const grammar =
    shape.kind === "text"
      ? undefined
      : await model.grammarFor(shape.schema, shape.kind === "json" ? "response_format" : "tools");
  const messages = req.messages.map(asText);
  if (shape.kind === "toolCall")
    messages.unshift({ role: "system", content: toolInstructions(shape.tools) });
  return model.chat(
    messages,
    {
      maxTokens: req.maxTokens,
      temperature: req.temperature,
      topP: req.topP,
      seed: req.seed,
      stop: req.stop ?? [],
      grammar,
    },
    signal,
  );
}

/**
 * The built-in backend with the language model: a model whose config names a GGUF file runs on
 * the replica's LanguageModel; every other built-in model (corpus n-grams, trained `ft-*`) on the
 * n-gram backend. When the language model cannot take a request (it did not load, or its line is
 * full) the n-gram model answers instead and says so in the fingerprint; a request that needs a
 * structured answer (JSON, a tool call), which the n-gram model cannot give, is refused with 503.
 */
export function languageBackend(args: LanguageBackendArgs): Backend {
  return {
    async start(req: GenerateRequest, signal: AbortSignal): Promise<Generation> {
      if (!("gguf" in req.model.config)) return args.ngram.start(req, signal);
      if (req.model.config.gguf !== SMOLLM2.file)
        throw new ApiError(
          503,
          "service_unavailable",
          "model_unavailable",
          `model ${req.model.id} needs ${req.model.config.gguf}, which this replica does not run`,
        );
      const model = args.model;
      const shape = answerShape(req);
      const entered = model?.queue.enter(signal);
      if (!model || !entered) {
        if (shape.kind !== "text") {
          if (!model)
            throw new ApiError(
              503,
              "service_unavailable",
              "model_unavailable",
              "the language model is not loaded on this replica",
            );
          throw busy();
        }
        args.logger.warn(
          { model: req.model.id, reason: model ? "queue full" : "not loaded" },
          "n-gram fallback",
        );
        const fallback = await args.ngram.start(
          { ...req, model: { ...req.model, config: { corpus: "default" } } },
          signal,
        );
        return { ...fallback, fingerprint: FALLBACK_FINGERPRINT };
      }
      const free = await entered;
      const generation = await generateOn(model, req, shape, signal).catch((err: unknown) => {
        free();
        throw err;
      });
      void generation.done.finally(() => {
        free();
        const r = generation.result();
        args.logger.debug(
          { model: req.model.id, completionTokens: r.completionTokens, cancelled: r.cancelled },
          "language model generation ended",
        );
      });
      let toolCalls: ToolCall[] | undefined;
      async function* pieces(): AsyncGenerator<string> {
        if (shape.kind !== "toolCall") {
          yield* generation.pieces;
          return;
        }
        // A call is whole or nothing: its JSON is parsed once the grammar has closed it.
        let json = "";
        for await (const piece of generation.pieces) json += piece;
        if (generation.result().finishReason === "stop")
          toolCalls = [toolCallOf(json, `call_${randomUUID().replaceAll("-", "")}`)];
      }
      return {
        pieces: pieces(),
        result: () => {
          const r = generation.result();
          return {
            finishReason: toolCalls ? "tool_calls" : r.finishReason,
            usage: { promptTokens: r.promptTokens, completionTokens: r.completionTokens },
            ...(toolCalls ? { toolCalls } : {}),
          };
        },
      };
    },
  };
}
