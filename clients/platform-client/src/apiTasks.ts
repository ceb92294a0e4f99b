import { PlatformError, UsageError } from "./errors.ts";
import type { HttpAnswer, HttpRequest } from "./retry.ts";
import { sseEvents } from "./sse.ts";

// The task functions that speak only HTTP: sending with retries, a chat completion's stream,
// checking and rotating a key. They run in Node's worker threads (tasks.ts adds the file tasks)
// and in the browser console's Web Workers alike. Inputs and results are plain data.

/** The gateway's key format (services/gateway/auth.ts): a key that cannot be one is not sent. */
export const KEY_FORMAT = /^sk-[A-Za-z0-9_-]{20,200}$/;

export function checkKeyFormat(key: string): void {
  if (!KEY_FORMAT.test(key))
    throw new UsageError(
      `the API key is malformed: an API key is sk- followed by 20 to 200 of A-Z a-z 0-9 _ - (got ${key.length} characters${key.startsWith("sk-") ? "" : ", not starting with sk-"})`,
    );
}

export interface Call {
  origin: string;
  key: string;
}

export interface SendInput extends Call {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  /** Sent as `Idempotency-Key`, which makes a POST safe to repeat. */
  idempotencyKey?: string;
}
export interface SendResult {
  status: number;
  headers: Record<string, string>;
  body: unknown;
  retries: number;
}

export interface ChatInput extends Call {
  body: Record<string, unknown>;
  conversationId?: string;
}
export interface ChatResult {
  id: string;
  model: string;
  content: string;
  finishReason: string | null;
  usage?: Record<string, number>;
  conversationId?: string;
}

export interface KeyInfo {
  userId: string;
  keyId?: string;
  plan?: string;
  scopes: string[];
}

/** A file's or a video's content, asked for with the caller's key (the download tasks). */
export function getContent(i: Call & { path: string }, http: ApiContext["http"]) {
  checkKeyFormat(i.key);
  return http.send({ origin: i.origin, method: "GET", path: i.path, headers: auth(i.key) });
}

/** What sent and stored, or announced and received, disagree on. */
export const checksumMismatch = (message: string) =>
  new PlatformError({ status: 200, type: "api_error", code: "checksum_mismatch", message });

/** How a task function reaches the platform, and reports on its way. */
export interface ApiContext {
  http: {
    send(req: HttpRequest, onRetry?: (attempt: number, why: string) => void): Promise<HttpAnswer>;
  };
  emit: (event: unknown) => void;
}

type ApiHandler<I, R> = (input: I, ctx: ApiContext) => Promise<R>;

const USER_AGENT = "platform-client/0.1";
export const auth = (key: string) => ({ authorization: `Bearer ${key}`, "user-agent": USER_AGENT });

function pathWithQuery(path: string, query: SendInput["query"]): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

export async function bodyOf(answer: HttpAnswer): Promise<unknown> {
  const text = await answer.text();
  if (text === "") return undefined;
  return (answer.headers["content-type"] ?? "").includes("json") ? JSON.parse(text) : text;
}

export const send: ApiHandler<SendInput, SendResult> = async (i, { http }) => {
  checkKeyFormat(i.key);
  const json = i.body === undefined ? undefined : JSON.stringify(i.body);
  let retries = 0;
  const answer = await http.send(
    {
      origin: i.origin,
      method: i.method,
      path: pathWithQuery(i.path, i.query),
      headers: {
        ...auth(i.key),
        ...(json !== undefined ? { "content-type": "application/json" } : {}),
        ...(i.idempotencyKey ? { "idempotency-key": i.idempotencyKey } : {}),
        ...i.headers,
      },
      ...(json !== undefined ? { body: () => json } : {}),
    },
    () => retries++,
  );
  return { status: answer.status, headers: answer.headers, body: await bodyOf(answer), retries };
};

export const chat: ApiHandler<ChatInput, ChatResult> = async (i, { http, emit }) => {
  checkKeyFormat(i.key);
  const json = JSON.stringify({ ...i.body, stream: true });
  // Retried only until the stream starts: a half-told answer is not told twice.
  const answer = await http.send({
    origin: i.origin,
    method: "POST",
    path: "/v1/chat/completions",
    headers: {
      ...auth(i.key),
      "content-type": "application/json",
      accept: "text/event-stream",
      ...(i.conversationId ? { "x-conversation-id": i.conversationId } : {}),
    },
    body: () => json,
    repeatable: false,
  });
  const result: ChatResult = { id: "", model: "", content: "", finishReason: null };
  const conversation = answer.headers["x-conversation-id"];
  if (conversation) result.conversationId = conversation;
  for await (const { data } of sseEvents(answer.body)) {
    if (data === "[DONE]") return result;
    const chunk = JSON.parse(data) as {
      id?: string;
      model?: string;
      choices?: { delta?: { content?: string }; finish_reason?: string | null }[];
      usage?: Record<string, number> | null;
      error?: { message: string; type: string; code: string; param?: string | null };
    };
    if (chunk.error)
      throw new PlatformError({
        status: 200,
        ...chunk.error,
        message: `mid-stream: ${chunk.error.message}`,
      });
    result.id ||= chunk.id ?? "";
    result.model ||= chunk.model ?? "";
    for (const choice of chunk.choices ?? []) {
      const text = choice.delta?.content;
      if (text) {
        result.content += text;
        emit(text);
      }
      if (choice.finish_reason) result.finishReason = choice.finish_reason;
    }
    if (chunk.usage) result.usage = chunk.usage;
  }
  throw new PlatformError({
    status: 200,
    type: "api_error",
    code: "stream_cut",
    message: `the stream ended before [DONE], after ${result.content.length} characters`,
  });
};

export const checkKey: ApiHandler<Call, KeyInfo> = async (i, ctx) => {
  const { body } = await send({ ...i, method: "GET", path: "/v1/auth/whoami" }, ctx);
  const p = (body as { principal: KeyInfo }).principal;
  return {
    userId: p.userId,
    scopes: p.scopes ?? [],
    ...(p.keyId ? { keyId: p.keyId } : {}),
    ...(p.plan ? { plan: p.plan } : {}),
  };
};

// A new key first, then the old one revoked with it: at no moment is the session without a key.
export const rotateKey: ApiHandler<
  Call & { name: string },
  { key: string; keyId: string }
> = async (i, ctx) => {
  const old = await checkKey(i, ctx);
  const made = await send(
    { ...i, method: "POST", path: "/v1/auth/keys", body: { name: i.name } },
    ctx,
  );
  const { key, id } = made.body as { key: string; id: string };
  if (old.keyId)
    await send(
      { origin: i.origin, key, method: "DELETE", path: `/v1/auth/keys/${old.keyId}` },
      ctx,
    );
  return { key, keyId: id };
};
