import type { IncomingMessage, ServerResponse } from "node:http";
import { ApiError, PROCESSED_HEADER } from "../shared/errors.ts";

// A gateway reads each request body whole, after the caller's key and limits are checked, and
// holds it until the answer is sent: a retry, a failover to another replica and a parked write
// all send it again. Without a bound over all requests, a crowd of large uploads with valid keys
// could take the whole heap; with one, the excess is told to come back (503, Retry-After).

/** Request body bytes one gateway process may hold at once, over all its requests. */
export const DEFAULT_BUFFERED_BODY_BYTES = 256 * 1024 * 1024;

export class BodyBudget {
  readonly maxBytes: number;
  private held = 0;

  constructor(maxBytes = DEFAULT_BUFFERED_BODY_BYTES) {
    this.maxBytes = maxBytes;
  }

  /** Takes `bytes` from the budget, or nothing and false when they would exceed it. */
  take(bytes: number): boolean {
    if (this.held + bytes > this.maxBytes) return false;
    this.held += bytes;
    return true;
  }

  release(bytes: number): void {
    this.held -= bytes;
  }
}

/** Seconds a refused caller is told to wait: bodies held now are answered within about that. */
const BUSY_RETRY_AFTER_SECONDS = 1;

/**
 * Takes `bytes` from `budget` for as long as `res` is open, or refuses the request (503,
 * Retry-After). For an upload streamed through: the gateway keeps a copy of its start for a retry
 * (proxy.ts `bodyViews`), and that copy counts like any body held.
 */
export function reserve(res: ServerResponse, budget: BodyBudget, bytes: number): void {
  takeOrRefuse(res, budget, bytes);
  res.once("close", () => budget.release(bytes));
}

/** Takes `bytes` from `budget`, or refuses the request: 503 `server_busy` with Retry-After. */
function takeOrRefuse(res: ServerResponse, budget: BodyBudget, bytes: number): void {
  if (budget.take(bytes)) return;
  res.setHeader("retry-after", String(BUSY_RETRY_AFTER_SECONDS));
  res.setHeader(PROCESSED_HEADER, "false");
  throw busy();
}

/**
 * Reads a request body of at most `limitBytes`, held against `budget` until `res` closes. The
 * length a caller announces is taken from the budget before a byte is read, so that requests
 * arriving together cannot each pass the check and then exceed the budget together; a chunked
 * body takes its bytes as they come. An oversized body is still drained (up to a hard cap)
 * before the 413: a caller that is a proxy (our router) would otherwise see its upload cut off
 * and report a broken connection instead of the 413.
 */
export async function readBody(
  req: IncomingMessage,
  res: ServerResponse,
  limitBytes: number,
  budget: BodyBudget,
): Promise<Buffer | undefined> {
  const hardCap = Math.max(limitBytes * 4, 8 * 1024 * 1024);
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > hardCap) throw tooLarge(limitBytes);
  // Neither a length nor chunks: no body (RFC 9112 6.3), the case of every read. Node discards
  // the empty stream once the answer is sent; iterating it cost an iterator and promises.
  if (declared === 0 && req.headers["transfer-encoding"] === undefined) return undefined;
  let held = 0;
  const hold = (bytes: number) => {
    takeOrRefuse(res, budget, bytes);
    held += bytes;
  };
  res.once("close", () => budget.release(held));
  if (declared > 0 && declared <= limitBytes) hold(declared);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > hardCap) throw tooLarge(limitBytes);
    if (size > limitBytes) continue;
    if (size > held) hold(size - held);
    chunks.push(chunk as Buffer);
  }
  if (size > limitBytes) throw tooLarge(limitBytes);
  return size === 0 ? undefined : Buffer.concat(chunks, size);
}

function busy(): ApiError {
  return new ApiError(
    503,
    "service_unavailable",
    "server_busy",
    "too many request bodies in flight on this replica, retry shortly",
  );
}

export function tooLarge(limit: number): ApiError {
  return new ApiError(
    413,
    "invalid_request_error",
    "payload_too_large",
    `request body exceeds ${limit} bytes`,
  );
}
