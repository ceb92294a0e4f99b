// The errors the client library throws. Each crosses a thread boundary as plain data
// (`toWire`/`fromWire`): a worker's error arrives in the caller's thread as the same class.

/** The platform answered with its error shape (`{"error": {...}}`) or another non-2xx. */
export class PlatformError extends Error {
  override readonly name = "PlatformError";
  readonly status: number;
  readonly type: string;
  readonly code: string;
  readonly param: string | null;
  readonly requestId: string | undefined;
  /** What `Retry-After` asked for, in ms, when it was sent. */
  readonly retryAfterMs: number | undefined;
  /** Attempts made before giving up (1 when it was not retried). */
  readonly attempts: number;

  constructor(f: {
    status: number;
    type: string;
    code: string;
    message: string;
    param?: string | null;
    requestId?: string;
    retryAfterMs?: number;
    attempts?: number;
  }) {
    super(f.message);
    this.status = f.status;
    this.type = f.type;
    this.code = f.code;
    this.param = f.param ?? null;
    this.requestId = f.requestId;
    this.retryAfterMs = f.retryAfterMs;
    this.attempts = f.attempts ?? 1;
  }
}

/** The origin could not be reached, or the connection broke before an answer. */
export class ConnectionError extends Error {
  override readonly name = "ConnectionError";
  readonly origin: string;
  readonly attempts: number;
  constructor(origin: string, message: string, attempts: number) {
    super(message);
    this.origin = origin;
    this.attempts = attempts;
  }
}

/** The worker thread that ran the task died before it finished; the task was not retried. */
export class WorkerCrashedError extends Error {
  override readonly name = "WorkerCrashedError";
  readonly kind: string;
  constructor(kind: string, message: string) {
    super(message);
    this.kind = kind;
  }
}

/** The caller's own mistake, told before anything is sent (a malformed key, a missing file). */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export type WireError =
  | ({ kind: "platform" } & ConstructorParameters<typeof PlatformError>[0])
  | { kind: "connection"; origin: string; message: string; attempts: number }
  | { kind: "crashed"; worker: string; message: string }
  | { kind: "usage"; message: string }
  | { kind: "other"; message: string };

export function toWire(err: unknown): WireError {
  if (err instanceof PlatformError)
    return {
      kind: "platform",
      status: err.status,
      type: err.type,
      code: err.code,
      message: err.message,
      param: err.param,
      ...(err.requestId !== undefined ? { requestId: err.requestId } : {}),
      ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}),
      attempts: err.attempts,
    };
  if (err instanceof ConnectionError)
    return { kind: "connection", origin: err.origin, message: err.message, attempts: err.attempts };
  if (err instanceof WorkerCrashedError)
    return { kind: "crashed", worker: err.kind, message: err.message };
  if (err instanceof UsageError) return { kind: "usage", message: err.message };
  return { kind: "other", message: err instanceof Error ? err.message : String(err) };
}

export function fromWire(w: WireError): Error {
  switch (w.kind) {
    case "platform": {
      return new PlatformError(w);
    }
    case "connection":
      return new ConnectionError(w.origin, w.message, w.attempts);
    case "crashed":
      return new WorkerCrashedError(w.worker, w.message);
    case "usage":
      return new UsageError(w.message);
    case "other":
      return new Error(w.message);
  }
}
