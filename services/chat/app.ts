import { createHash, randomUUID } from "node:crypto";
import type { Express, Response } from "express";
import type { Cache } from "../shared/cache.ts";
import { ApiError } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import { principalFrom, principalToPassOn, type Principal } from "../shared/principal.ts";
import { modelPageQuery } from "../model/contract.ts";
import { jsonBody, parse } from "../shared/validation.ts";
import type { RequestContext } from "../shared/trace.ts";
import type {
  ContextMessage,
  FinishReason,
  GenerationEvent,
  ToolCall,
  ToolChoice,
  ToolSpec,
  Usage,
} from "../inference/contract.ts";
import { countPromptTokens, countTokens } from "../inference/tokenizer.ts";
import type { ModelVersion, Selection } from "../model/contract.ts";
import type { InferenceClient, ModelClient } from "./clients.ts";
import {
  CONVERSATION_HEADER,
  chatCompletionBody,
  conversationId,
  type ChatCompletion,
  type ChatCompletionBody,
  type ChoiceToolCall,
  type CompletionUsage,
} from "./contract.ts";
import {
  HISTORY_BUDGET_TOKENS,
  type ChatStore,
  type StoredMessage,
  type UsageRecord,
} from "./store.ts";

export interface ChatRoutesArgs {
  store: ChatStore;
  /** The business domain's Redis (memory when none is configured): whole answers by request. */
  cache: Cache;
  models: ModelClient;
  inference: InferenceClient;
  logger: Logger;
  /** How long a cached answer is served. Default 600 s. */
  cacheTtlSeconds?: number;
}

const invalidParameter = (param: string, message: string) =>
  new ApiError(422, "invalid_request_error", "invalid_parameter", message, param);

interface Params {
  temperature: number;
  topP: number;
  maxTokens: number | undefined;
  stop: string[];
  seed: number | undefined;
  stream: boolean;
  includeUsage: boolean;
  /** What the answer must match: response_format's schema, or any JSON object. */
  responseSchema: Record<string, unknown> | undefined;
  tools: ToolSpec[] | undefined;
  toolChoice: ToolChoice | undefined;
}

/** response_format json_object: any JSON object. */
const ANY_OBJECT = { type: "object", properties: {}, additionalProperties: true };

/** The request's values, each in its range (422 otherwise, naming it), with defaults filled in. */
function resolveParams(body: ChatCompletionBody): Params {
  const temperature = body.temperature ?? 1;
  if (temperature < 0 || temperature > 2)
    throw invalidParameter("temperature", "temperature must be between 0 and 2");
  const topP = body.top_p ?? 1;
  if (topP <= 0 || topP > 1) throw invalidParameter("top_p", "top_p must be in (0, 1]");
  const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? undefined;
  const maxParam = body.max_completion_tokens == null ? "max_tokens" : "max_completion_tokens";
  if (maxTokens !== undefined && maxTokens < 1)
    throw invalidParameter(maxParam, `${maxParam} must be at least 1`);
  if ((body.n ?? 1) !== 1) throw invalidParameter("n", "only n = 1 is supported");
  for (const p of ["frequency_penalty", "presence_penalty"] as const) {
    const v = body[p] ?? 0;
    if (v < -2 || v > 2) throw invalidParameter(p, `${p} must be between -2 and 2`);
  }
  if (body.logprobs) throw invalidParameter("logprobs", "logprobs are not supported");
  const stop = body.stop == null ? [] : typeof body.stop === "string" ? [body.stop] : body.stop;
  if (stop.length > 16 || stop.some((s) => s.length === 0))
    throw invalidParameter("stop", "stop takes at most 16 non-empty sequences");
  const stream = body.stream ?? false;
  if (body.stream_options && !stream)
    throw invalidParameter("stream_options", "stream_options is only allowed with stream: true");
  body.messages.forEach((m, i) => {
    if (m.role === "tool" && !m.tool_call_id)
      throw invalidParameter(`messages[${i}].tool_call_id`, "a tool message needs tool_call_id");
    if (m.content === null && !(m.role === "assistant" && m.tool_calls))
      throw invalidParameter(
        `messages[${i}].content`,
        "content may be null only in an assistant message with tool_calls",
      );
  });
  const tools = body.tools?.map((t) => ({
    name: t.function.name,
    description: t.function.description,
    parameters: t.function.parameters,
  }));
  const choice = body.tool_choice ?? undefined;
  const toolChoice = typeof choice === "object" ? { name: choice.function.name } : choice;
  if (toolChoice && toolChoice !== "none" && !tools?.length)
    throw invalidParameter("tool_choice", "tool_choice needs tools");
  if (typeof toolChoice === "object" && !tools?.some((t) => t.name === toolChoice.name))
    throw invalidParameter("tool_choice", `tool_choice names no tool: ${toolChoice.name}`);
  const format = body.response_format ?? undefined;
  const responseSchema =
    format?.type === "json_schema"
      ? (format.json_schema.schema ?? ANY_OBJECT)
      : format?.type === "json_object"
        ? ANY_OBJECT
        : undefined;
  return {
    temperature,
    topP,
    maxTokens,
    stop,
    seed: body.seed ?? undefined,
    stream,
    includeUsage: body.stream_options?.include_usage ?? false,
    responseSchema,
    tools,
    toolChoice,
  };
}

/** Text parts are joined: the models here read text only. */
function flatten(messages: ChatCompletionBody["messages"]): ContextMessage[] {
  return messages.map((m) => ({
    role: m.role,
    content:
      typeof m.content === "string" ? m.content : (m.content ?? []).map((p) => p.text).join(""),
    ...(m.tool_call_id ? { toolCallId: m.tool_call_id } : {}),
    ...(m.tool_calls
      ? {
          toolCalls: m.tool_calls.map((c) => ({
            id: c.id,
            name: c.function.name,
            arguments: c.function.arguments,
          })),
        }
      : {}),
  }));
}

const choiceToolCall = (c: ToolCall): ChoiceToolCall => ({
  id: c.id,
  type: "function",
  function: { name: c.name, arguments: c.arguments },
});

/** The newest of `newestFirst` that fit the history budget together, oldest first. */
function fitHistory(newestFirst: readonly StoredMessage[]): StoredMessage[] {
  let spent = 0;
  let kept = 0;
  for (const m of newestFirst) {
    spent += countPromptTokens([m]);
    if (spent > HISTORY_BUDGET_TOKENS) break;
    kept++;
  }
  return newestFirst.slice(0, kept).reverse();
}

/** JSON lines of a generation, decoded across chunk boundaries. */
async function* generationEvents(body: AsyncIterable<Buffer>): AsyncGenerator<GenerationEvent> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (line) yield JSON.parse(line) as GenerationEvent;
    }
  }
  if (buffer.trim()) yield JSON.parse(buffer) as GenerationEvent;
}

const generationError = (e: Extract<GenerationEvent, { type: "error" }>) =>
  new ApiError(
    e.status,
    e.status === 503 ? "service_unavailable" : e.status === 429 ? "rate_limit_error" : "api_error",
    e.code,
    e.message,
  );

function usageOf(usage: Usage, cached: boolean): CompletionUsage {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
    prompt_cache_hit_tokens: cached ? usage.promptTokens : 0,
    prompt_cache_miss_tokens: cached ? 0 : usage.promptTokens,
  };
}

/**
 * The steps of one request's flow, in order, each with its time: they end up in the access log
 * line (`decision`) and in the flow's own log line, under the request id and trace id.
 */
class FlowSteps {
  private readonly steps: { step: string; detail: string; ms: number }[] = [];
  private last = performance.now();
  private readonly res: Response;
  constructor(res: Response) {
    this.res = res;
  }

  add(step: string, detail: string): void {
    const now = performance.now();
    this.steps.push({ step, detail, ms: Math.round((now - this.last) * 10) / 10 });
    this.last = now;
    this.res.locals.decision = this.steps.map((s) => `${s.step}:${s.detail}`).join(" > ");
  }

  list() {
    return [...this.steps];
  }
}

/** What a whole answer needs to be served again from the cache. */
interface CachedAnswer {
  modelVersion: string;
  backend: string;
  content: string;
  finishReason: FinishReason | "aborted";
  usage: Usage;
  toolCalls?: ToolCall[];
  /** Which model answered, when not the one selected (the n-gram fallback). */
  fingerprint?: string;
}

/**
 * `POST /v1/chat/completions` and `GET /v1/models`, compatible with the OpenAI and DeepSeek APIs.
 * The flow, in order (the gateway's quota step has run before): cache lookup -> context -> model
 * selection -> inference -> cache store -> usage event (outbox -> Kafka) and usage report to
 * quota -> answer, streamed or whole (docs/chat.md, docs/quota-flow.md).
 */
export function chatRoutes(app: Express, args: ChatRoutesArgs): void {
  const ttl = args.cacheTtlSeconds ?? 600;

  app.get("/v1/models", async (req, res) => {
    res.locals.route = "/v1/models";
    const page = parse(modelPageQuery, req.query, "query");
    res.json(await args.models.list(page, res.locals.ctx, principalToPassOn(req.headers)));
  });

  app.get("/v1/models/:id", async (req, res) => {
    res.locals.route = "/v1/models";
    res.json(await args.models.get(req.params.id, res.locals.ctx, principalToPassOn(req.headers)));
  });

  app.post("/v1/chat/completions", ...jsonBody("1mb"), async (req, res) => {
    res.locals.route = "/v1/chat";
    const ctx = res.locals.ctx;
    const principal = principalFrom(req.headers);
    const caller = principalToPassOn(req.headers);
    const body = parse(chatCompletionBody, req.body);
    const params = resolveParams(body);
    const rawConversation = req.headers[CONVERSATION_HEADER];
    const conversation =
      rawConversation === undefined
        ? undefined
        : parse(conversationId, rawConversation, CONVERSATION_HEADER);
    const requestMessages = flatten(body.messages);
    const id = `chatcmpl-${randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    const flow = new FlowSteps(res);
    const started = performance.now();
    try {
      // Before the cache, or a plan could read another plan's model from it.
      const selected = principal.models
        ? await checkPlanAllows(principal.models, body.model, args.models, ctx, caller)
        : undefined;
      // Only answers that depend on nothing but the request are kept: temperature 0, whole,
      // outside a conversation (whose history both shapes and records the answer). Each user has
      // their own: a hit shared across users would tell anyone that someone asked that prompt.
      const cacheKey =
        params.temperature === 0 && !params.stream && !conversation
          ? `completion:${createHash("sha256")
              .update(
                JSON.stringify([
                  principal.userId,
                  body.model,
                  requestMessages,
                  params.maxTokens ?? null,
                  params.stop,
                  params.responseSchema ?? null,
                  params.tools ?? null,
                  params.toolChoice ?? null,
                ]),
              )
              .digest("hex")}`
          : undefined;
      if (cacheKey) {
        const hit = await args.cache.get(cacheKey).catch(() => undefined);
        flow.add("cache", hit ? "hit" : "miss");
        if (hit) {
          const answer = JSON.parse(hit) as CachedAnswer;
          await recordUsage(principal, answer.usage, {
            modelVersion: answer.modelVersion,
            backend: answer.backend,
            cached: true,
            finishReason: answer.finishReason,
          });
          flow.add("usage", "queued");
          res.setHeader("x-cache", "HIT");
          res.json(completion(answer, true));
          return;
        }
      } else {
        flow.add("cache", "bypass");
      }

      const { model } = selected ?? (await args.models.select(body.model, ctx, caller));
      flow.add("model", model.id);
      // A request that cannot fit on its own is refused before any history is read.
      checkLimits(model, countPromptTokens(requestMessages), params.maxTokens);

      const history = conversation ? await args.store.history(principal.userId, conversation) : [];
      const kept = fitHistory(history);
      const isSystem = (m: ContextMessage) => m.role === "system" || m.role === "developer";
      const context = [
        ...requestMessages.filter(isSystem),
        ...kept,
        ...requestMessages.filter((m) => !isSystem(m)),
      ];
      flow.add("context", `${kept.length}/${history.length} read + ${requestMessages.length} new`);
      const maxTokens = checkLimits(model, countPromptTokens(context), params.maxTokens);

      const aborted = new AbortController();
      res.once("close", () => {
        if (!res.writableFinished) aborted.abort();
      });
      const events = generationEvents(
        await args.inference
          .generate(
            {
              model,
              messages: context,
              temperature: params.temperature,
              topP: params.topP,
              maxTokens,
              seed: params.seed,
              stop: params.stop.length > 0 ? params.stop : undefined,
              ...(params.responseSchema ? { responseSchema: params.responseSchema } : {}),
              ...(params.tools ? { tools: params.tools } : {}),
              ...(params.toolChoice ? { toolChoice: params.toolChoice } : {}),
            },
            ctx,
            aborted.signal,
          )
          .catch((err: unknown) => {
            // Every replica is busy: the client may come back (the official clients wait this).
            if (err instanceof ApiError && err.status === 503) res.setHeader("retry-after", "1");
            throw err;
          }),
      );
      // Which model answers comes first; then the first event settles the answer's status before
      // its first byte: a generation that fails at once is a plain JSON error, never a stream
      // that breaks.
      let first = await events.next();
      let fingerprint = model.id;
      if (!first.done && first.value.type === "start") {
        fingerprint = first.value.fingerprint;
        first = await events.next();
      }
      if (!first.done && first.value.type === "error") throw generationError(first.value);
      flow.add("inference", fingerprint === model.id ? model.backend : `fallback:${fingerprint}`);

      let text = "";
      let finishReason: FinishReason | "aborted" = "aborted";
      let usage: Usage | undefined;
      const toolCalls: ToolCall[] = [];
      const settle = async () => {
        const spent = usage ?? {
          promptTokens: countPromptTokens(context),
          completionTokens: countTokens(text),
        };
        // A fallback's answer stands in for a busy model once; it is not the model's to repeat.
        if (cacheKey && usage && fingerprint === model.id) {
          const answer: CachedAnswer = {
            modelVersion: model.id,
            backend: model.backend,
            content: text,
            finishReason,
            usage,
            ...(toolCalls.length > 0 ? { toolCalls } : {}),
          };
          await args.cache.set(cacheKey, JSON.stringify(answer), ttl).then(
            () => flow.add("cache", "stored"),
            () => flow.add("cache", "store-failed"),
          );
        }
        await recordUsage(
          principal,
          spent,
          { modelVersion: model.id, backend: model.backend, cached: false, finishReason },
          conversation
            ? {
                conversationId: conversation,
                messages: [
                  ...requestMessages
                    .filter((m) => !isSystem(m))
                    .map(({ role, content }) => ({ role, content })),
                  { role: "assistant", content: text },
                ],
              }
            : undefined,
        );
        flow.add("usage", "queued");
        return spent;
      };
      const rest = async function* () {
        if (!first.done) yield first.value;
        yield* events;
      };

      if (!params.stream) {
        try {
          for await (const event of rest()) {
            if (event.type === "error") throw generationError(event);
            if (event.type === "delta") text += event.text;
            else if (event.type === "toolCall") toolCalls.push(event.call);
            else if (event.type === "done") ({ finishReason, usage } = event);
          }
        } catch (err) {
          if (!aborted.signal.aborted) throw err;
          // The caller went away: what was generated is still accounted for.
          await settle();
          return;
        }
        const spent = await settle();
        if (conversation) res.setHeader(CONVERSATION_HEADER, conversation);
        if (cacheKey) res.setHeader("x-cache", "MISS");
        res.json(
          completion(
            {
              modelVersion: model.id,
              backend: model.backend,
              content: text,
              finishReason,
              usage: spent,
              toolCalls,
              fingerprint,
            },
            false,
          ),
        );
        return;
      }

      const chunk = (
        choices: ChatCompletionChunk["choices"],
        chunkUsage?: CompletionUsage,
      ): ChatCompletionChunk => ({
        id,
        object: "chat.completion.chunk",
        created,
        model: body.model,
        system_fingerprint: `fp_${fingerprint}`,
        choices,
        ...(params.includeUsage ? { usage: chunkUsage ?? null } : {}),
      });
      const send = (data: unknown) => res.write(`data: ${JSON.stringify(data)}\n\n`);
      res.status(200);
      res.setHeader("content-type", "text/event-stream; charset=utf-8");
      res.setHeader("cache-control", "no-cache");
      res.setHeader("x-accel-buffering", "no");
      if (conversation) res.setHeader(CONVERSATION_HEADER, conversation);
      res.flushHeaders();
      send(
        chunk([
          {
            index: 0,
            delta: { role: "assistant", content: "" },
            logprobs: null,
            finish_reason: null,
          },
        ]),
      );
      try {
        for await (const event of rest()) {
          if (event.type === "error") throw generationError(event);
          if (event.type === "delta") {
            text += event.text;
            send(
              chunk([
                { index: 0, delta: { content: event.text }, logprobs: null, finish_reason: null },
              ]),
            );
          } else if (event.type === "toolCall") {
            const call = { index: toolCalls.length, ...choiceToolCall(event.call) };
            toolCalls.push(event.call);
            send(
              chunk([
                { index: 0, delta: { tool_calls: [call] }, logprobs: null, finish_reason: null },
              ]),
            );
          } else if (event.type === "done") {
            ({ finishReason, usage } = event);
          }
        }
        const spent = await settle();
        send(chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: finishReason }]));
        if (params.includeUsage) send(chunk([], usageOf(spent, false)));
        res.write("data: [DONE]\n\n");
      } catch (err) {
        if (aborted.signal.aborted) {
          // The caller went away: what was generated is still accounted for.
          await settle().catch((e: unknown) =>
            args.logger.error(
              { err: e, requestId: ctx.requestId },
              "usage of an aborted stream lost",
            ),
          );
          return;
        }
        // After the first byte the status is sent: the error travels as an SSE event.
        const api =
          err instanceof ApiError
            ? err
            : new ApiError(500, "api_error", "internal_error", "the answer failed mid-stream");
        if (!(err instanceof ApiError))
          args.logger.error({ err, requestId: ctx.requestId }, "stream failed");
        flow.add("stream", `error:${api.code}`);
        send(api.body(ctx.requestId));
      }
      res.end();
    } finally {
      args.logger.info(
        {
          requestId: ctx.requestId,
          traceId: ctx.traceId,
          userId: principal.userId,
          model: body.model,
          stream: params.stream,
          steps: flow.list(),
          ms: Math.round((performance.now() - started) * 10) / 10,
        },
        "chat flow",
      );
    }

    function completion(answer: CachedAnswer, cached: boolean): ChatCompletion {
      return {
        id,
        object: "chat.completion",
        created,
        model: body.model,
        system_fingerprint: `fp_${answer.fingerprint ?? answer.modelVersion}`,
        choices: [
          {
            index: 0,
            message: answer.toolCalls?.length
              ? {
                  role: "assistant",
                  content: answer.content || null,
                  tool_calls: answer.toolCalls.map(choiceToolCall),
                }
              : { role: "assistant", content: answer.content },
            logprobs: null,
            finish_reason: answer.finishReason,
          },
        ],
        usage: usageOf(answer.usage, cached),
      };
    }

    async function recordUsage(
      who: Principal,
      spent: Usage,
      how: { modelVersion: string; backend: string; cached: boolean; finishReason: string },
      turn?: { conversationId: string; messages: StoredMessage[] },
    ): Promise<void> {
      const record: UsageRecord = {
        requestId: ctx.requestId,
        userId: who.userId,
        keyId: who.keyId,
        plan: who.plan,
        model: body.model,
        modelVersion: how.modelVersion,
        backend: how.backend,
        promptTokens: spent.promptTokens,
        completionTokens: spent.completionTokens,
        totalTokens: spent.promptTokens + spent.completionTokens,
        cached: how.cached,
        stream: params.stream,
        finishReason: how.finishReason,
        conversationId: conversation ?? null,
      };
      await args.store.recordTurn(record, turn);
    }
  });
}

interface ChatCompletionChunk {
  id: string;
  object: "chat.completion.chunk";
  created: number;
  model: string;
  system_fingerprint: string;
  choices: {
    index: 0;
    delta: {
      role?: "assistant";
      content?: string;
      tool_calls?: (ChoiceToolCall & { index: number })[];
    };
    logprobs: null;
    finish_reason: string | null;
  }[];
  usage?: CompletionUsage | null;
}

/**
 * The answer's token budget: the request's (at most the model's), else as much as the model and
 * the context's room allow; the context must leave room for it (OpenAI's 400
 * `context_length_exceeded` otherwise).
 */
/**
 * The caller's plan lists the models it allows (the gateway's quota step passes them on): a model
 * asked for by a listed name, `name:version` of a listed name, or an alias of a listed model.
 * Anything else is refused as OpenAI refuses a model the key cannot use. Returns the selection
 * when resolving an alias needed one, so that the flow does not ask the registry twice.
 */
async function checkPlanAllows(
  allowed: readonly string[],
  asked: string,
  models: ModelClient,
  ctx: RequestContext,
  caller: Record<string, string>,
): Promise<Selection | undefined> {
  const base = asked.split(":")[0]!;
  if (allowed.includes(asked) || allowed.includes(base)) return undefined;
  // An alias (deepseek-chat) stands for a model: allowed when that model is.
  const selection = await models.select(asked, ctx, caller);
  if (allowed.includes(selection.model.name)) return selection;
  throw new ApiError(
    403,
    "permission_error",
    "model_not_allowed",
    `your plan does not include the model ${asked} (it allows: ${allowed.join(", ")})`,
    "model",
  );
}

function checkLimits(model: ModelVersion, promptTokens: number, requested?: number): number {
  if (requested !== undefined && requested > model.maxOutputTokens) {
    throw invalidParameter(
      "max_tokens",
      `max_tokens must be at most ${model.maxOutputTokens} for ${model.id}`,
    );
  }
  const room = model.contextTokens - promptTokens;
  const maxTokens = requested ?? Math.min(model.maxOutputTokens, room);
  if (maxTokens < 1 || maxTokens > room) {
    throw new ApiError(
      400,
      "invalid_request_error",
      "context_length_exceeded",
      `${model.id} takes ${model.contextTokens} tokens; the messages have ${promptTokens} and the answer may use ${maxTokens}`,
      "messages",
    );
  }
  return maxTokens;
}
