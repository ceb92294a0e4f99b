import { ApiError } from "../shared/errors.ts";
import type { FinishReason, GenerateRequest, Usage } from "./contract.ts";
import type { Backend, Generation } from "./generation.ts";
import { countPromptTokens, countTokens } from "./tokenizer.ts";

// The upstream backend: an OpenAI-compatible endpoint (DeepSeek's, OpenAI's, a local server)
// set by configuration. Every call streams, with the usage chunk asked for, and each content
// delta passes through as it arrives.

export interface UpstreamBackendArgs {
  /** The API's base URL, to which `/chat/completions` is appended: `https://api.deepseek.com`. */
  baseUrl: string;
  apiKey?: string;
  /** How long to wait for the upstream's response headers. Default 20 s. */
  headersTimeoutMs?: number;
}

interface SseEvent {
  event: string;
  data: string;
}

/** Server-sent events from a byte stream: `data:` lines joined, dispatched at a blank line. */
async function* sseEvents(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = "";
  let data: string[] = [];
  let event = "message";
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffer.search(/\r?\n/)) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + (buffer[newline] === "\r" ? 2 : 1));
      if (line === "") {
        if (data.length > 0) yield { event, data: data.join("\n") };
        data = [];
        event = "message";
      } else if (line.startsWith("data:")) {
        data.push(line.slice(5).replace(/^ /, ""));
      } else if (line.startsWith("event:")) {
        event = line.slice(6).trim();
      }
    }
  }
  if (data.length > 0) yield { event, data: data.join("\n") };
}

interface UpstreamChunk {
  choices?: { delta?: { content?: string | null }; finish_reason?: string | null }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  error?: { message?: string };
}

/**
 * What the caller sees of an upstream refusal: its own mistakes as such, the rest as ours, each
 * in words of our own; the upstream's text goes to the log only (it may name the platform's
 * account, its balance or its internals).
 */
function upstreamError(status: number, detail: string): ApiError {
  const error =
    status === 400 || status === 422
      ? new ApiError(
          status,
          "invalid_request_error",
          "upstream_rejected",
          "the upstream model refused the request's parameters",
        )
      : status === 429
        ? new ApiError(
            429,
            "rate_limit_error",
            "upstream_rate_limited",
            "the upstream model is rate limited, retry later",
          )
        : status === 401 || status === 403 || status === 402
          ? new ApiError(
              500,
              "api_error",
              "upstream_refused",
              "the upstream model refused the platform's credentials or balance",
            )
          : new ApiError(
              503,
              "service_unavailable",
              "upstream_unavailable",
              "the upstream model is unavailable",
            );
  return error.withDetail(`upstream answered ${status}: ${detail}`);
}

export function upstreamBackend(args: UpstreamBackendArgs): Backend {
  const url = `${args.baseUrl.replace(/\/+$/, "")}/chat/completions`;
  return {
    async start(req: GenerateRequest, signal: AbortSignal): Promise<Generation> {
      const model = "model" in req.model.config ? req.model.config.model : undefined;
      if (model === undefined) {
        throw new ApiError(
          503,
          "service_unavailable",
          "model_unavailable",
          `model ${req.model.id} names no upstream model`,
        );
      }
      const headersTimeout = new AbortController();
      const timer = setTimeout(
        () => headersTimeout.abort(new Error("upstream headers time-out")),
        args.headersTimeoutMs ?? 20_000,
      );
      let res: Response;
      try {
        res = await fetch(url, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            accept: "text/event-stream",
            ...(args.apiKey ? { authorization: `Bearer ${args.apiKey}` } : {}),
          },
          body: JSON.stringify({
            model,
            messages: req.messages,
            temperature: req.temperature,
            top_p: req.topP,
            max_tokens: req.maxTokens,
            ...(req.seed === undefined ? {} : { seed: req.seed }),
            ...(req.stop ? { stop: req.stop } : {}),
            stream: true,
            stream_options: { include_usage: true },
          }),
          signal: AbortSignal.any([signal, headersTimeout.signal]),
        });
      } catch (err) {
        if (signal.aborted) throw err;
        throw new ApiError(
          503,
          "service_unavailable",
          "upstream_unavailable",
          "the upstream model cannot be reached",
        ).withDetail((err as Error).message);
      } finally {
        clearTimeout(timer);
      }
      if (!res.ok || !res.body) {
        const text = await res.text().catch(() => "");
        let message = text.slice(0, 500);
        try {
          message = (JSON.parse(text) as UpstreamChunk).error?.message ?? message;
        } catch {
          // Not JSON: the text itself is the message.
        }
        throw upstreamError(res.status, message || res.statusText);
      }
      const body = res.body;
      let finishReason: FinishReason = "stop";
      let reported: Usage | undefined;
      let text = "";
      async function* pieces(): AsyncGenerator<string> {
        for await (const sse of sseEvents(body)) {
          if (sse.data === "[DONE]") return;
          const chunk = JSON.parse(sse.data) as UpstreamChunk;
          if (sse.event === "error" || chunk.error) {
            throw upstreamError(502, chunk.error?.message ?? "the upstream stream failed");
          }
          if (chunk.usage) {
            reported = {
              promptTokens: chunk.usage.prompt_tokens ?? 0,
              completionTokens: chunk.usage.completion_tokens ?? 0,
            };
          }
          const choice = chunk.choices?.[0];
          if (choice?.finish_reason)
            finishReason = choice.finish_reason === "length" ? "length" : "stop";
          const content = choice?.delta?.content;
          if (content) {
            text += content;
            yield content;
          }
        }
      }
      return {
        pieces: pieces(),
        // The upstream's own count when it gives one; else ours, from the same text.
        result: () => ({
          finishReason,
          usage: reported ?? {
            promptTokens: countPromptTokens(req.messages),
            completionTokens: countTokens(text),
          },
        }),
      };
    },
  };
}
