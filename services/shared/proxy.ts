import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { ApiError } from "./errors.ts";
import type { RequestContext } from "./trace.ts";
import { sendToReplicas, type ReplicaSet, type UpstreamResponse } from "./upstream.ts";

// Forwarding one request to a replica set and its answer back, shared by the router and the
// gateways. Request bodies are read into memory (bounded) so that a request can be sent again to
// another replica; responses stream back untouched, which keeps SSE working.

/**
 * Headers that belong to one connection, never passed on by a proxy (RFC 9110 7.6.1). `Expect`
 * is answered by each hop's own server (Node sends the 100 Continue), and undici refuses to send
 * it: passed on, it failed the request as if the upstream had.
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "expect",
  "host",
  "content-length",
]);

/**
 * Whether a header of this message stops at this hop: a fixed hop-by-hop one, any `Proxy-*`,
 * or one that the message's own `Connection` header names (RFC 9110 7.6.1).
 */
export function hopScoped(headers: IncomingHttpHeaders): (name: string) => boolean {
  const connection = headers.connection;
  const named = connection
    ? new Set(
        connection
          .toLowerCase()
          .split(",")
          .map((n) => n.trim()),
      )
    : undefined;
  return (name) => HOP_BY_HOP.has(name) || name.startsWith("proxy-") || !!named?.has(name);
}

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

/**
 * Request body bytes this process may hold at once, over all its requests. A body is kept whole
 * until its answer is sent (a retry or a parked write sends it again), so without a bound a crowd
 * of large uploads could take the whole heap.
 */
export const MAX_BUFFERED_BYTES = 256 * 1024 * 1024;
let buffered = 0;

/**
 * Reads a request body of at most `limitBytes`, counted against `MAX_BUFFERED_BYTES` until `res`
 * closes. An oversized body is still drained (up to a hard cap) before the 413: a caller that is
 * a proxy (our router) would otherwise see its upload cut off and report a broken connection
 * instead of the 413.
 */
export async function readBody(
  req: IncomingMessage,
  res: ServerResponse,
  limitBytes: number,
): Promise<Buffer | undefined> {
  const hardCap = Math.max(limitBytes * 4, 8 * 1024 * 1024);
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > hardCap) throw tooLarge(limitBytes);
  let held = 0;
  res.once("close", () => {
    buffered -= held;
    held = 0;
  });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > hardCap) throw tooLarge(limitBytes);
    if (size > limitBytes) continue;
    if (buffered + (chunk as Buffer).length > MAX_BUFFERED_BYTES) throw busy();
    buffered += (chunk as Buffer).length;
    held += (chunk as Buffer).length;
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

function tooLarge(limit: number): ApiError {
  return new ApiError(
    413,
    "invalid_request_error",
    "payload_too_large",
    `request body exceeds ${limit} bytes`,
  );
}

/** Headers for the next hop: hop-by-hop ones dropped, trace context and forwarding info set. */
export function forwardHeaders(
  req: IncomingMessage,
  ctx: RequestContext,
  drop: readonly string[] = [],
): Record<string, string> {
  const out: Record<string, string> = {};
  const scoped = hopScoped(req.headers);
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || scoped(name) || drop.some((d) => name.startsWith(d))) continue;
    out[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  const peer = req.socket.remoteAddress ?? "";
  out["x-forwarded-for"] = out["x-forwarded-for"] ? `${out["x-forwarded-for"]}, ${peer}` : peer;
  out["x-request-id"] = ctx.requestId;
  out["traceparent"] = ctx.traceparent;
  if (req.headers.host) out["x-forwarded-host"] = req.headers.host;
  return out;
}

export async function relay(up: UpstreamResponse, res: ServerResponse): Promise<void> {
  for (const [name, value] of Object.entries(up.headers)) {
    // The body passes through unchanged, so its length does too: without it Node would re-frame
    // every answer as chunked, a second write per response and a client that cannot tell a
    // truncated body from a whole one.
    if (value === undefined || (HOP_BY_HOP.has(name) && name !== "content-length")) continue;
    res.setHeader(name, value);
  }
  res.statusCode = up.statusCode;
  // Plain pipe rather than stream.pipeline, which allocates an AbortController (and a DOMException
  // with its stack) per call: measurable on the proxy's hot path.
  await new Promise<void>((resolve, reject) => {
    up.body.once("error", (err) => {
      res.destroy(err);
      reject(err);
    });
    res.once("close", () => {
      if (!res.writableFinished) up.body.destroy();
      resolve();
    });
    up.body.pipe(res);
  });
}

export interface ForwardOptions {
  set: ReplicaSet;
  ctx: RequestContext;
  /** The normalised request target to send (requestTarget.ts), never the raw one. */
  path: string;
  bodyLimitBytes: number;
  /** Header name prefixes the caller must not be able to set downstream. */
  dropHeaders?: readonly string[];
  /** Headers added after the caller's (e.g. the verified principal). */
  extraHeaders?: Record<string, string>;
}

/**
 * Bodies up to this size are read whole before they are forwarded, so that another replica can
 * take a request whose first one refused the connection. Larger ones (uploads) stream through:
 * no proxy holds them, and the next hop checks the caller's key before it reads a byte.
 */
export const REPLAYABLE_BODY_BYTES = 64 * 1024;

/** Forwards `req` to one of `set`'s replicas and streams the answer to `res`. */
export async function forward(
  req: IncomingMessage,
  res: ServerResponse,
  opts: ForwardOptions,
): Promise<UpstreamResponse> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > opts.bodyLimitBytes) throw tooLarge(opts.bodyLimitBytes);
  const streamed =
    declared > REPLAYABLE_BODY_BYTES || req.headers["transfer-encoding"] !== undefined;
  const body = streamed ? req : await readBody(req, res, opts.bodyLimitBytes);
  const headers = { ...forwardHeaders(req, opts.ctx, opts.dropHeaders), ...opts.extraHeaders };
  // With its length the next hop can refuse an oversized stream before reading it.
  if (streamed && declared > 0) headers["content-length"] = String(declared);
  const aborted = new AbortController();
  // A client that goes away is not an upstream failure: stop the upstream call and say nothing.
  res.once("close", () => {
    if (!res.writableFinished) aborted.abort();
  });
  const method = req.method ?? "GET";
  const up = await sendToReplicas(opts.set, {
    method,
    path: opts.path,
    headers,
    body,
    retryable: !streamed && (IDEMPOTENT.has(method) || headers["idempotency-key"] !== undefined),
    signal: aborted.signal,
  });
  await relay(up, res);
  return up;
}
