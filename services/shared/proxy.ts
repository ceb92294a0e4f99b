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
    ? new Set(connection.toLowerCase().split(",").map((n) => n.trim()))
    : undefined;
  return (name) => HOP_BY_HOP.has(name) || name.startsWith("proxy-") || !!named?.has(name);
}

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

/**
 * Reads a request body of at most `limitBytes`. An oversized body is still drained (up to a hard
 * cap) before the 413: a caller that is a proxy (our router) would otherwise see its upload cut
 * off and report a broken connection instead of the 413.
 */
export async function readBody(
  req: IncomingMessage,
  limitBytes: number,
): Promise<Buffer | undefined> {
  const hardCap = Math.max(limitBytes * 4, 8 * 1024 * 1024);
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > hardCap) throw tooLarge(limitBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > hardCap) throw tooLarge(limitBytes);
    if (size <= limitBytes) chunks.push(chunk as Buffer);
  }
  if (size > limitBytes) throw tooLarge(limitBytes);
  return size === 0 ? undefined : Buffer.concat(chunks, size);
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

/** Forwards `req` to one of `set`'s replicas and streams the answer to `res`. */
export async function forward(
  req: IncomingMessage,
  res: ServerResponse,
  opts: ForwardOptions,
): Promise<UpstreamResponse> {
  const body = await readBody(req, opts.bodyLimitBytes);
  const headers = { ...forwardHeaders(req, opts.ctx, opts.dropHeaders), ...opts.extraHeaders };
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
    retryable: IDEMPOTENT.has(method) || headers["idempotency-key"] !== undefined,
    signal: aborted.signal,
  });
  await relay(up, res);
  return up;
}
