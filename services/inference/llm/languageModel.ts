import {
  getLlama,
  LlamaChat,
  LlamaLogLevel,
  type ChatHistoryItem,
  type Llama,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaGrammar,
  type LlamaModel,
} from "node-llama-cpp";
import { ApiError } from "../../shared/errors.ts";
import type { ContextMessage, FinishReason } from "../contract.ts";
import { FETCH_COMMAND, modelFileProblem } from "./modelFile.ts";
import { GenerationQueue } from "./queue.ts";

export interface LanguageModelOptions {
  /** The GGUF file, checked against its pinned SHA-256 before it is loaded. */
  path: string;
  /** llama.cpp threads. They spin while they work: more than the free cores stalls the machine. */
  threads: number;
  /** Tokens of the one context: the prompt and the answer together. */
  contextTokens: number;
  /** Generations that may wait for the model; beyond, the caller falls back or is refused. */
  maxWaiting: number;
}

/** The file is not the pinned model: the service stops with a message naming the fix. */
export class ModelFileError extends Error {
  constructor(problem: string) {
    super(`language model: ${problem}. Run \`${FETCH_COMMAND}\` to fetch and verify it.`);
    this.name = "ModelFileError";
  }
}

export interface ChatGeneration {
  /** The text as it is generated; stopping early (a `return`) cancels the generation. */
  pieces: AsyncIterable<string>;
  /** Once `pieces` is exhausted: tokens by the model's own tokenizer. */
  result(): {
    finishReason: FinishReason;
    promptTokens: number;
    completionTokens: number;
    /** Stopped by its signal or by its reader leaving, not by the model or a limit. */
    cancelled: boolean;
  };
  /** Settles when the model is free again, whether `pieces` was read or not. */
  done: Promise<void>;
}

export interface ChatOptions {
  maxTokens: number;
  temperature: number;
  topP: number;
  seed?: number;
  stop: readonly string[];
  grammar?: LlamaGrammar;
}

/** The chat template's roles: a developer message is a system one, anything else a user's. */
function historyOf(messages: readonly { role: string; content: string }[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = messages.map((m) =>
    m.role === "assistant"
      ? { type: "model", response: [m.content] }
      : m.role === "system" || m.role === "developer"
        ? { type: "system", text: m.content }
        : { type: "user", text: m.content },
  );
  // The answer to generate: an empty model turn that the template opens.
  history.push({ type: "model", response: [] });
  return history;
}

/**
 * One GGUF model loaded by llama.cpp (node-llama-cpp's prebuilt binaries, CPU only), with one
 * context sequence: one generation at a time, the others queued (GenerationQueue). Each
 * generation starts from an empty sequence, so that an answer depends on its request only
 * (temperature 0 is deterministic whatever ran before).
 */
export class LanguageModel {
  readonly queue: GenerationQueue;
  readonly loadMs: number;
  private readonly llama: Llama;
  private readonly model: LlamaModel;
  private readonly context: LlamaContext;
  private readonly sequence: LlamaContextSequence;
  private readonly grammars = new Map<string, Promise<LlamaGrammar>>();

  private constructor(
    parts: { llama: Llama; model: LlamaModel; context: LlamaContext },
    options: LanguageModelOptions,
    loadMs: number,
  ) {
    this.llama = parts.llama;
    this.model = parts.model;
    this.context = parts.context;
    this.sequence = parts.context.getSequence();
    this.queue = new GenerationQueue(options.maxWaiting);
    this.loadMs = loadMs;
  }

  /** Throws ModelFileError when the file is missing or not the pinned one. */
  static async load(options: LanguageModelOptions): Promise<LanguageModel> {
    const problem = await modelFileProblem(options.path);
    if (problem) throw new ModelFileError(problem);
    const started = performance.now();
    // `build: "never"`: a machine without a matching prebuilt binary fails here (and the service
    // falls back) rather than compiling llama.cpp at start.
    const llama = await getLlama({
      gpu: false,
      build: "never",
      maxThreads: options.threads,
      logLevel: LlamaLogLevel.error,
    });
    const model = await llama.loadModel({ modelPath: options.path });
    const context = await model.createContext({
      contextSize: options.contextTokens,
      threads: options.threads,
      sequences: 1,
    });
    return new LanguageModel({ llama, model, context }, options, performance.now() - started);
  }

  get contextTokens(): number {
    return this.context.contextSize;
  }

  /**
   * A grammar for a JSON schema, compiled once per schema. A schema that llama.cpp's converter
   * cannot express is the caller's 400, naming what it sent.
   */
  grammarFor(schema: Record<string, unknown> | "json", param: string): Promise<LlamaGrammar> {
    const key = schema === "json" ? "json" : JSON.stringify(schema);
    let grammar = this.grammars.get(key);
    if (!grammar) {
      grammar = (
        schema === "json"
          ? this.llama.getGrammarFor("json")
          : // Checked by llama.cpp's converter at run time, not by the caller's types.
            this.llama.createGrammarForJsonSchema(schema as never)
      ).catch((err: unknown) => {
        this.grammars.delete(key);
        throw new ApiError(
          400,
          "invalid_request_error",
          "unsupported_schema",
          `the JSON schema in ${param} uses what constrained generation does not support`,
          param,
        ).withDetail((err as Error).message);
      });
      this.grammars.set(key, grammar);
    }
    return grammar;
  }

  /**
   * Generates an answer to `messages` on the model, which the caller holds (queue.enter). The
   * generation stops at `signal` or when `pieces` is left early.
   */
  chat(
    messages: readonly Pick<ContextMessage, "role" | "content">[],
    options: ChatOptions,
    signal: AbortSignal,
  ): ChatGeneration {
    const history = historyOf(messages);
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    const pending: string[] = [];
    let wake: (() => void) | undefined;
    let ended = false;
    let failure: unknown;
    let completionTokens = 0;
    let finishReason: FinishReason = "stop";
    let cancelled = false;
    const chat = new LlamaChat({ contextSequence: this.sequence, autoDisposeSequence: false });
    const promptTokens = chat.chatWrapper
      .generateContextState({ chatHistory: history })
      .contextText.tokenize(this.model.tokenizer).length;
    const notify = () => {
      wake?.();
      wake = undefined;
    };
    const running = this.sequence
      .clearHistory()
      .then(() =>
        chat.generateResponse(history, {
          maxTokens: options.maxTokens,
          temperature: options.temperature,
          topP: options.topP,
          ...(options.seed === undefined ? {} : { seed: options.seed }),
          ...(options.stop.length > 0 ? { customStopTriggers: options.stop } : {}),
          ...(options.grammar ? { grammar: options.grammar } : {}),
          signal: stop.signal,
          stopOnAbortSignal: true,
          onTextChunk: (text) => {
            // Some tokens come as empty chunks (text held back, special tokens): nothing to send.
            if (!text) return;
            pending.push(text);
            notify();
          },
          onToken: (tokens) => {
            completionTokens += tokens.length;
          },
        }),
      )
      .then(
        (response) => {
          if (response.metadata.stopReason === "maxTokens") finishReason = "length";
          cancelled = response.metadata.stopReason === "abort";
        },
        (err: unknown) => {
          failure = err;
        },
      )
      .finally(() => {
        ended = true;
        signal.removeEventListener("abort", onAbort);
        chat.dispose({ disposeSequence: false });
        notify();
      });
    async function* pieces(): AsyncGenerator<string> {
      try {
        for (;;) {
          while (pending.length > 0) yield pending.shift()!;
          if (ended) break;
          await new Promise<void>((resolve) => (wake = resolve));
        }
        if (failure) throw failure;
      } finally {
        // Left early (a stop sequence, a disconnect): the model stops, and is free once it has.
        stop.abort();
        await running;
      }
    }
    return {
      pieces: pieces(),
      result: () => ({ finishReason, promptTokens, completionTokens, cancelled }),
      done: running,
    };
  }

  async close(): Promise<void> {
    await this.context.dispose();
    await this.model.dispose();
    await this.llama.dispose();
  }
}
