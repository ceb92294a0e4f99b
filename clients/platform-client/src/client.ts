import { randomUUID } from "node:crypto";
import { UsageError } from "./errors.ts";
import { InlineExecutor, type Executor } from "./executor.ts";
import type { operations, paths } from "./openapi.ts";
import { IDEMPOTENT_CREATES } from "./openapi.ts";
import { WorkerPool, type PoolOptions } from "./pool.ts";
import {
  checkKeyFormat,
  type ChatResult,
  type DownloadResult,
  type KeyInfo,
  type Progress,
  type SendInput,
  type TaskName,
  type TaskTypes,
} from "./tasks.ts";
import type { TelemetrySnapshot } from "./telemetry.ts";
import type { RetryPolicy } from "./retry.ts";

// The client of the platform's public API. The caller's thread keeps the sessions and schedules
// tasks; the work (HTTP and its retries, SSE parsing, file chunks and hashes, key checks,
// telemetry) runs in worker threads (pool.ts), or inline with `threads: false`.

type Method = "get" | "post" | "put" | "patch" | "delete";
type Defined<T> = Exclude<T, undefined>;
/** The paths that have an operation for `M`. */
export type PathFor<M extends Method> = {
  [P in keyof paths]: Defined<paths[P][M]> extends never ? never : P;
}[keyof paths];
type OpOf<M extends Method, P extends PathFor<M>> = Defined<paths[P][M]> & {
  parameters: unknown;
};
type JsonBody<O> = O extends { requestBody: { content: { "application/json": infer B } } }
  ? B
  : never;
type Params<O> = O extends { parameters: { path: infer P } } ? P : never;
type Query<O> = O extends { parameters: { query?: infer Q } } ? Q : never;
type Answer<O> = O extends { responses: { 200: { content: { "application/json": infer R } } } }
  ? R
  : O extends { responses: { 201: { content: { "application/json": infer R } } } }
    ? R
    : O extends { responses: { 202: { content: { "application/json": infer R } } } }
      ? R
      : unknown;

export interface CallInit<O> {
  params?: Params<O>;
  query?: Query<O>;
  body?: JsonBody<O>;
  /** For a create: defaults to a fresh key per call, so its retries cannot create twice. */
  idempotencyKey?: string;
}

export interface ClientOptions {
  /** The router's origin, e.g. http://127.0.0.1:8080. */
  origin: string;
  /** Worker threads (the default), their counts, or `false` to run everything inline. */
  threads?: boolean | PoolOptions["threads"];
  retry?: Partial<RetryPolicy>;
}

export class PlatformClient {
  readonly origin: string;
  readonly executor: Executor;

  constructor(opts: ClientOptions) {
    let url: URL;
    try {
      url = new URL(opts.origin);
    } catch {
      throw new UsageError(
        `origin: ${JSON.stringify(opts.origin)} is not a URL (e.g. http://127.0.0.1:8080)`,
      );
    }
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw new UsageError(`origin: ${url.protocol} is not http: or https:`);
    this.origin = url.origin;
    this.executor =
      opts.threads === false
        ? new InlineExecutor(opts.retry)
        : new WorkerPool({
            ...(typeof opts.threads === "object" ? { threads: opts.threads } : {}),
            ...(opts.retry ? { retry: opts.retry } : {}),
          });
  }

  /** A session: one API key, its own concurrency limit and state. The key is checked locally. */
  session(key: string, opts: { name?: string; maxConcurrent?: number } = {}): Session {
    checkKeyFormat(key);
    return new Session(
      this,
      key,
      opts.name ?? `session-${randomUUID().slice(0, 8)}`,
      opts.maxConcurrent ?? 8,
    );
  }

  /** Per operation: counts, failures, retries, latency percentiles (from the telemetry thread). */
  telemetry(): Promise<TelemetrySnapshot> {
    return this.executor.run("snapshot", {});
  }

  close(): Promise<void> {
    return this.executor.close();
  }
}

/** What a session did, for its owner. */
export interface SessionState {
  name: string;
  running: number;
  queued: number;
  done: number;
  failed: number;
  principal?: KeyInfo;
}

export class Session {
  private readonly waiting: (() => void)[] = [];
  private running = 0;
  private done = 0;
  private failed = 0;
  principal: KeyInfo | undefined;

  private readonly client: PlatformClient;
  private key: string;
  readonly name: string;
  private readonly maxConcurrent: number;

  constructor(client: PlatformClient, key: string, name: string, maxConcurrent: number) {
    this.client = client;
    this.key = key;
    this.name = name;
    this.maxConcurrent = maxConcurrent;
  }

  state(): SessionState {
    return {
      name: this.name,
      running: this.running,
      queued: this.waiting.length,
      done: this.done,
      failed: this.failed,
      ...(this.principal ? { principal: this.principal } : {}),
    };
  }

  /** Runs one task under the session's limit, and records it in telemetry. */
  private async task<T extends TaskName>(
    op: string,
    task: T,
    input: Omit<TaskTypes[T]["input"], "origin" | "key">,
    onEvent?: (e: TaskTypes[T]["event"]) => void,
  ): Promise<TaskTypes[T]["result"]> {
    if (this.running >= this.maxConcurrent) await new Promise<void>((ok) => this.waiting.push(ok));
    this.running++;
    const started = performance.now();
    const ex = this.client.executor;
    try {
      const result = await ex.run(
        task,
        { ...input, origin: this.client.origin, key: this.key } as TaskTypes[T]["input"],
        onEvent,
      );
      this.done++;
      const retries = (result as { retries?: number } | undefined)?.retries ?? 0;
      ex.note("record", { op, ms: performance.now() - started, ok: true, retries });
      return result;
    } catch (err) {
      this.failed++;
      const code = (err as { code?: string }).code ?? (err as Error).name;
      ex.note("record", { op, ms: performance.now() - started, ok: false, error: code });
      throw err;
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  /** Any operation of the public API, typed from its OpenAPI document. */
  async call<M extends Method, P extends PathFor<M>>(
    method: M,
    path: P,
    init: CallInit<OpOf<M, P>> = {},
  ): Promise<Answer<OpOf<M, P>>> {
    const upper = method.toUpperCase() as SendInput["method"];
    let url: string = path;
    for (const [name, value] of Object.entries((init.params ?? {}) as Record<string, string>)) {
      if (typeof value !== "string" || value === "")
        throw new UsageError(`${path}: the path parameter ${name} must be a non-empty string`);
      url = url.replace(`{${name}}`, encodeURIComponent(value));
    }
    if (/\{\w+\}/.test(url)) throw new UsageError(`${path}: missing path parameters`);
    const idempotent = IDEMPOTENT_CREATES.includes(`${upper} ${path}`);
    const result = await this.task(`${upper} ${path}`, "send", {
      method: upper,
      path: url,
      ...(init.query ? { query: init.query as SendInput["query"] } : {}),
      ...(init.body !== undefined ? { body: init.body } : {}),
      ...(idempotent ? { idempotencyKey: init.idempotencyKey ?? randomUUID() } : {}),
    });
    return result.body as Answer<OpOf<M, P>>;
  }

  /** Checks the key with the platform and keeps who it is. */
  async whoami(): Promise<KeyInfo> {
    this.principal = await this.task("whoami", "checkKey", {});
    return this.principal;
  }

  /** A new key for this session's user, then the old one revoked; the session uses the new one. */
  async rotateKey(name = this.name): Promise<string> {
    const { key } = await this.task("rotateKey", "rotateKey", { name });
    this.key = key;
    return key;
  }

  /** A streamed chat completion: `onDelta` sees each piece of text as it arrives. */
  chat(
    body: JsonBody<operations["createChatCompletion"]>,
    opts: { onDelta?: (text: string) => void; conversationId?: string } = {},
  ): Promise<ChatResult> {
    return this.task(
      "chat",
      "chat",
      {
        body: body as Record<string, unknown>,
        ...(opts.conversationId ? { conversationId: opts.conversationId } : {}),
      },
      opts.onDelta,
    );
  }

  /** Uploads a file (a path, or bytes) in chunks, checking the SHA-256 the platform stored. */
  upload(
    file: { path: string } | { bytes: Uint8Array; filename: string },
    opts: {
      purpose: "fine-tune" | "vision";
      contentType?: string;
      onProgress?: (p: Progress) => void;
    },
  ): Promise<Record<string, unknown> & { id: string; client_sha256: string }> {
    return this.task(
      "upload",
      "upload",
      {
        purpose: opts.purpose,
        ...file,
        ...(opts.contentType ? { contentType: opts.contentType } : {}),
      },
      opts.onProgress,
    ) as Promise<Record<string, unknown> & { id: string; client_sha256: string }>;
  }

  /** A file's or a video's content to `dest`, checked against the SHA-256 the platform sends. */
  download(
    what: { fileId: string } | { videoId: string },
    dest: string,
    onProgress?: (p: Progress) => void,
  ): Promise<DownloadResult> {
    const path =
      "fileId" in what
        ? `/v1/files/${encodeURIComponent(what.fileId)}/content`
        : `/v1/videos/${encodeURIComponent(what.videoId)}/content`;
    return this.task("download", "download", { path, dest }, onProgress);
  }

  /**
   * Waits for a video to succeed or fail, asking every `everyMs`; `onProgress` sees its status
   * and progress when they change. A failed video rejects with its error.
   */
  async waitForVideo(
    id: string,
    opts: {
      everyMs?: number;
      timeoutMs?: number;
      onProgress?: (v: { status: string; progress: number }) => void;
    } = {},
  ): Promise<Record<string, unknown>> {
    const deadline = Date.now() + (opts.timeoutMs ?? 15 * 60_000);
    let seen = "";
    for (;;) {
      const video = (await this.call("get", "/v1/videos/{id}", { params: { id } })) as Record<
        string,
        unknown
      > & {
        status: string;
        progress: number;
      };
      const now = `${video.status} ${video.progress}`;
      if (now !== seen) opts.onProgress?.(video);
      seen = now;
      if (video.status === "succeeded") return video;
      if (video.status === "failed")
        throw new Error(
          `video ${id} failed: ${JSON.stringify(video["error"] ?? "no reason given")}`,
        );
      if (Date.now() > deadline)
        throw new Error(`video ${id} still ${video.status} after ${opts.timeoutMs ?? 900_000} ms`);
      await new Promise((ok) => setTimeout(ok, opts.everyMs ?? 1_000));
    }
  }
}
