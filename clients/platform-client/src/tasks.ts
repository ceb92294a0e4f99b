import { createReadStream, createWriteStream } from "node:fs";
import { rm, stat } from "node:fs/promises";
import { basename } from "node:path";
import { createHash } from "node:crypto";
import { PlatformError, UsageError } from "./errors.ts";
import { multipartFile } from "./multipart.ts";
import { sseEvents } from "./sse.ts";
import type { Telemetry } from "./telemetry.ts";
import { type OperationRecord, type TelemetrySnapshot } from "./telemetry.ts";
import type { Transport } from "./transport.ts";
import { errorOf, type HttpAnswer } from "./transport.ts";

// The task-specific functions, one set per kind of worker thread: requests (sending and
// retries), streams (chat completions' SSE), uploads (files in chunks with their SHA-256, and
// downloads checked against theirs), sessions (checking and rotating API keys) and telemetry.
// Each runs where its kind runs: in a worker of its own (pool.ts), or, for the single-thread
// comparison, on the caller's thread (inline.ts). Inputs and results are plain data.

/** The gateway's key format (services/gateway/auth.ts): a key that cannot be one is not sent. */
export const KEY_FORMAT = /^sk-[A-Za-z0-9_-]{20,200}$/;

export function checkKeyFormat(key: string): void {
  if (!KEY_FORMAT.test(key))
    throw new UsageError(
      `the API key is malformed: an API key is sk- followed by 20 to 200 of A-Z a-z 0-9 _ - (got ${key.length} characters${key.startsWith("sk-") ? "" : ", not starting with sk-"})`,
    );
}

interface Call {
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

export interface UploadInput extends Call {
  purpose: string;
  /** A file on disk, or the bytes themselves. */
  path?: string;
  bytes?: Uint8Array;
  filename?: string;
  contentType?: string;
  chunkBytes?: number;
}
export interface Progress {
  done: number;
  total: number;
}
export interface DownloadInput extends Call {
  path: string;
  dest: string;
}
export interface DownloadResult {
  dest: string;
  bytes: number;
  sha256: string;
}

export interface KeyInfo {
  userId: string;
  keyId?: string;
  plan?: string;
  scopes: string[];
}

/** Every task, by name: its input, its result, and what it reports on the way. */
export interface TaskTypes {
  send: { input: SendInput; result: SendResult; event: never };
  chat: { input: ChatInput; result: ChatResult; event: string };
  upload: { input: UploadInput; result: Record<string, unknown>; event: Progress };
  download: { input: DownloadInput; result: DownloadResult; event: Progress };
  checkKey: { input: Call; result: KeyInfo; event: never };
  rotateKey: {
    input: Call & { name: string };
    result: { key: string; keyId: string };
    event: never;
  };
  record: { input: OperationRecord; result: void; event: never };
  snapshot: { input: Record<string, never>; result: TelemetrySnapshot; event: never };
}
export type TaskName = keyof TaskTypes;

/** The kinds of worker, and the tasks each runs. */
export const WORKER_KINDS = {
  requests: ["send"],
  streams: ["chat"],
  uploads: ["upload", "download"],
  sessions: ["checkKey", "rotateKey"],
  telemetry: ["record", "snapshot"],
} as const satisfies Record<string, readonly TaskName[]>;
export type WorkerKind = keyof typeof WORKER_KINDS;

export const kindOf = (task: TaskName): WorkerKind =>
  (Object.keys(WORKER_KINDS) as WorkerKind[]).find((k) =>
    (WORKER_KINDS[k] as readonly TaskName[]).includes(task),
  )!;

export interface TaskContext {
  transport: Transport;
  telemetry: Telemetry;
  emit: (event: unknown) => void;
}

type Handler<T extends TaskName> = (
  input: TaskTypes[T]["input"],
  ctx: TaskContext,
) => Promise<TaskTypes[T]["result"]>;

const USER_AGENT = "platform-client/0.1";
const auth = (key: string) => ({ authorization: `Bearer ${key}`, "user-agent": USER_AGENT });

function pathWithQuery(path: string, query: SendInput["query"]): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

async function bodyOf(answer: HttpAnswer): Promise<unknown> {
  const text = await answer.text();
  if (text === "") return undefined;
  return (answer.headers["content-type"] ?? "").includes("json") ? JSON.parse(text) : text;
}

const send: Handler<"send"> = async (i, { transport }) => {
  checkKeyFormat(i.key);
  const json = i.body === undefined ? undefined : JSON.stringify(i.body);
  let retries = 0;
  const answer = await transport.send(
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
      repeatable: i.method !== "POST" && i.method !== "PATCH" ? true : !!i.idempotencyKey,
    },
    () => retries++,
  );
  return { status: answer.status, headers: answer.headers, body: await bodyOf(answer), retries };
};

const chat: Handler<"chat"> = async (i, { transport, emit }) => {
  checkKeyFormat(i.key);
  const json = JSON.stringify({ ...i.body, stream: true });
  // Retried only until the stream starts: a half-told answer is not told twice.
  const answer = await transport.send({
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

const upload: Handler<"upload"> = async (i, { transport, emit }) => {
  checkKeyFormat(i.key);
  if (!i.path === !i.bytes) throw new UsageError("upload: give either a file path or its bytes");
  let size: number;
  if (i.path) {
    try {
      size = (await stat(i.path)).size;
    } catch (err) {
      throw new UsageError(
        `upload: cannot read ${i.path} (${(err as NodeJS.ErrnoException).code})`,
      );
    }
  } else size = i.bytes!.length;
  const chunkBytes = i.chunkBytes ?? 256 * 1024;
  const bytes = i.bytes;
  const filename = i.filename ?? (i.path ? basename(i.path) : "upload.txt");
  const form = multipartFile(
    { purpose: i.purpose },
    {
      filename,
      contentType: i.contentType ?? "application/octet-stream",
      size,
      chunks: i.path
        ? () => createReadStream(i.path!, { highWaterMark: chunkBytes })
        : async function* () {
            for (let at = 0; at < bytes!.length; at += chunkBytes)
              yield bytes!.subarray(at, at + chunkBytes);
          },
    },
  );
  let last = 0;
  const answer = await transport.send({
    origin: i.origin,
    method: "POST",
    path: "/v1/files",
    headers: {
      ...auth(i.key),
      "content-type": form.contentType,
      "content-length": String(form.length),
    },
    body: () =>
      form.stream((sent) => {
        // A progress event per percent at most: a 4 MiB file is not sixteen hundred messages.
        if (sent === size || sent - last >= size / 100) {
          last = sent;
          emit({ done: sent, total: size } satisfies Progress);
        }
      }),
    // A refused connection or a 429 are retried (nothing was stored); a 503 after the bytes
    // went out is not, as the file may be stored.
    repeatable: false,
  });
  const file = (await bodyOf(answer)) as Record<string, unknown>;
  const sent = form.sha256();
  if (typeof file["sha256"] === "string" && sent && file["sha256"] !== sent)
    throw new PlatformError({
      status: answer.status,
      type: "api_error",
      code: "checksum_mismatch",
      message: `${filename}: the platform stored SHA-256 ${file["sha256"]}, the client sent ${sent}`,
    });
  return { ...file, client_sha256: sent };
};

const download: Handler<"download"> = async (i, { transport, emit }) => {
  checkKeyFormat(i.key);
  const answer = await transport.send({
    origin: i.origin,
    method: "GET",
    path: i.path,
    headers: auth(i.key),
  });
  if (answer.status !== 200) throw await errorOf(answer, 1);
  const total = Number(answer.headers["content-length"] ?? 0);
  const hash = createHash("sha256");
  const out = createWriteStream(i.dest);
  let done = 0;
  try {
    for await (const chunk of answer.body) {
      hash.update(chunk);
      done += chunk.length;
      if (!out.write(chunk)) await new Promise<void>((ok) => out.once("drain", () => ok()));
      emit({ done, total } satisfies Progress);
    }
    await new Promise<void>((ok, fail) =>
      out.end((err?: Error | null) => (err ? fail(err) : ok())),
    );
  } catch (err) {
    out.destroy();
    await rm(i.dest, { force: true });
    throw err;
  }
  const sha256 = hash.digest("hex");
  const expected = answer.headers["x-content-sha256"];
  if (expected && expected !== sha256) {
    await rm(i.dest, { force: true });
    throw new PlatformError({
      status: 200,
      type: "api_error",
      code: "checksum_mismatch",
      message: `${i.path}: received SHA-256 ${sha256}, the platform announced ${expected}; nothing was kept`,
    });
  }
  return { dest: i.dest, bytes: done, sha256 };
};

const checkKey: Handler<"checkKey"> = async (i, ctx) => {
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
const rotateKey: Handler<"rotateKey"> = async (i, ctx) => {
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

const record: Handler<"record"> = async (i, { telemetry }) => telemetry.record(i);
const snapshot: Handler<"snapshot"> = async (_i, { telemetry }) => telemetry.snapshot();

export const handlers: { [T in TaskName]: Handler<T> } = {
  send,
  chat,
  upload,
  download,
  checkKey,
  rotateKey,
  record,
  snapshot,
};
