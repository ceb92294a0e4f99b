import { ConnectionError, PlatformError } from "./errors.ts";

// The HTTP rules every task shares, in Node's worker threads and in the browser's Web Workers
// alike: a request is repeated only when repeating it cannot do a thing twice (a read, a PUT or
// DELETE, a create under an `Idempotency-Key`, or a connection refused before anything was
// sent), at most `maxRetries` times, waiting what `Retry-After` asks up to a bound.

export interface HttpRequest {
  origin: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  /** A body the retries can send again: each attempt asks for a fresh one. */
  body?: () => string | Uint8Array | AsyncIterable<Uint8Array>;
  /** Repeatable although a POST (an idempotency key, or nothing happens before the answer). */
  repeatable?: boolean;
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: AsyncIterable<Uint8Array>;
  text(): Promise<string>;
}

export interface RetryPolicy {
  /** Attempts after the first. Default 3. */
  maxRetries: number;
  /** The longest `Retry-After` the client waits; a longer one fails at once. Default 20 s. */
  maxRetryAfterMs: number;
  /** First back-off when the answer names no delay; doubled each attempt, with jitter. */
  backoffMs: number;
  /** Time to an answer's headers, and the longest silence in its body. Default 60 s. */
  timeoutMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxRetries: 3,
  maxRetryAfterMs: 20_000,
  backoffMs: 200,
  timeoutMs: 60_000,
};

/** The platform's mark on a refusal whose request nothing acted on (`false`). */
export const PROCESSED_HEADER = "x-request-processed";

/** Statuses that say the request was not served and may be sent again later. */
const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);
const SAFE_METHODS = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]);

/**
 * Whether sending a request again cannot do a thing twice: a read, a PUT or DELETE, or a create
 * under an `Idempotency-Key`. The one rule for retries after an answer and after a crashed thread.
 */
export function repeatable(method: string, idempotencyKey?: string): boolean {
  return SAFE_METHODS.has(method.toUpperCase()) || !!idempotencyKey;
}

/** `Retry-After` in ms: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The platform's error shape read from an answer that was not 2xx. */
export async function errorOf(answer: HttpAnswer, attempts: number): Promise<PlatformError> {
  const text = await answer.text();
  const wait = retryAfterMs(answer.headers["retry-after"]);
  let error: Record<string, unknown> | undefined;
  try {
    error = (JSON.parse(text) as { error?: Record<string, unknown> }).error;
  } catch {
    // not JSON: an answer from something in front of the platform
  }
  const str = (v: unknown) => (typeof v === "string" ? v : undefined);
  return new PlatformError({
    status: answer.status,
    type: str(error?.["type"]) ?? (answer.status >= 500 ? "api_error" : "invalid_request_error"),
    code: str(error?.["code"]) ?? `http_${answer.status}`,
    message:
      str(error?.["message"]) ?? `HTTP ${answer.status}: ${text.slice(0, 200) || "(no body)"}`,
    param: str(error?.["param"]) ?? null,
    ...(str(error?.["request_id"]) ? { requestId: str(error?.["request_id"])! } : {}),
    ...(wait !== undefined ? { retryAfterMs: wait } : {}),
    attempts,
  });
}

/**
 * The answer to `req`, retried on a refused connection and on 429/502/503/504 while it is
 * repeatable, waiting what `Retry-After` asks (up to `maxRetryAfterMs`) or backing off. A 2xx
 * (or 3xx) comes back as is; anything else throws a PlatformError or a ConnectionError.
 */
export async function sendWithRetries(
  once: (req: HttpRequest) => Promise<HttpAnswer>,
  policy: RetryPolicy,
  req: HttpRequest,
  onRetry?: (attempt: number, why: string) => void,
): Promise<HttpAnswer> {
  const mayRepeat = req.repeatable ?? repeatable(req.method, req.headers["idempotency-key"]);
  for (let attempt = 1; ; attempt++) {
    let answer: HttpAnswer;
    try {
      answer = await once(req);
    } catch (err) {
      const code = (err as { code?: string }).code ?? "";
      // Refused, or lost before any of the request went out (a transport says so with
      // `notSent`): nothing reached the platform, so even a plain POST may go again.
      const refused = code === "ECONNREFUSED" || (err as { notSent?: boolean }).notSent === true;
      const why = `${code || (err as Error).message}`;
      if ((refused || mayRepeat) && attempt <= policy.maxRetries) {
        onRetry?.(attempt, why);
        await sleep(backoff(policy, attempt));
        continue;
      }
      throw new ConnectionError(
        req.origin,
        `cannot reach ${req.origin} (${why}) after ${attempt} attempt${attempt > 1 ? "s" : ""}` +
          (refused || mayRepeat
            ? ""
            : `: ${req.method} ${req.path} is not retried, it may have been done`),
        attempt,
      );
    }
    if (answer.status < 400) return answer;
    const error = await errorOf(answer, attempt);
    // A 429 was refused at the edge before anything ran, and so was a 503 the platform marks
    // `x-request-processed: false`: either may go again whatever the method.
    const notDone = answer.status === 429 || answer.headers[PROCESSED_HEADER] === "false";
    const again =
      RETRYABLE_STATUS.has(answer.status) &&
      (mayRepeat || notDone) &&
      attempt <= policy.maxRetries &&
      (error.retryAfterMs ?? 0) <= policy.maxRetryAfterMs;
    if (!again) throw error;
    onRetry?.(attempt, `${answer.status} ${error.code}`);
    await sleep(error.retryAfterMs ?? backoff(policy, attempt));
  }
}

function backoff(policy: RetryPolicy, attempt: number): number {
  const base = policy.backoffMs * 2 ** (attempt - 1);
  return Math.min(5_000, base / 2 + Math.random() * base);
}

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));
