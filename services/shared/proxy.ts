import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { ApiError } from "./errors.ts";
import type { RequestContext } from "./trace.ts";
import { DispatchedCall } from "./dispatch.ts";
import { NoReplicaError, failover, type Replica, type ReplicaSet } from "./upstream.ts";

// Forwarding one request to a replica set and its answer back: the router's hop, and the header
// rules the gateways share. Bodies and answers stream through untouched, which keeps SSE working
// and holds no upload in this hop's memory.

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

/**
 * Views of a streamed request body, one per attempt, that take nothing from it until the
 * upstream starts reading. undici destroys the stream of a request whose connection is refused,
 * so each attempt gets a view of its own; the client's request stays untouched and the next
 * replica can have it. Once a view has read from the body, the next attempt gets a copy of it if
 * the body was whole and at most `keepBytes` (a gateway that died after reading it), else none.
 * Bytes are copied only as the upstream reads them, that is after the gateway checked the key.
 */
export interface BodyViews {
  (): Buffer | Readable | undefined;
  /** Whether the next call has a body to give: none was read yet, or all of it was kept. */
  readonly replayable: boolean;
}

export function bodyViews(source: Readable, keepBytes = REPLAYABLE_BODY_BYTES): BodyViews {
  let taken = false;
  let ended = false;
  let kept: Buffer[] | undefined = [];
  let keptBytes = 0;
  const next = () => {
    if (taken) return ended && kept ? Buffer.concat(kept, keptBytes) : undefined;
    let mine = false;
    const pass = (chunk: Buffer) => {
      keptBytes += chunk.length;
      if (keptBytes > keepBytes) kept = undefined;
      else kept?.push(chunk);
      if (!view.push(chunk)) source.pause();
    };
    const view: Readable = new Readable({
      read() {
        if (mine) return void source.resume();
        taken = mine = true;
        source.on("data", pass);
        source.once("end", () => {
          ended = true;
          view.push(null);
        });
        source.once("error", (err) => view.destroy(err));
      },
      destroy(err, done) {
        // The rest of an upload that no upstream takes is discarded, so that an answer can still
        // go out; a view that never read leaves the body whole for the next one.
        if (mine) {
          source.off("data", pass);
          source.resume();
        }
        done(err);
      },
    });
    return view;
  };
  return Object.defineProperty(next, "replayable", {
    get: () => !taken || (ended && kept !== undefined),
  }) as BodyViews;
}

/** A body up to this size, once read whole by a gateway, can be sent to another one. */
export const REPLAYABLE_BODY_BYTES = 64 * 1024;

/** Methods that may be sent twice: what a retry after a broken connection may repeat. */
export const IDEMPOTENT: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

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
  const { headers } = req;
  // Per request on every hop: a plain loop, and `hopScoped`'s set only when `Connection` names some.
  const scoped = headers.connection ? hopScoped(headers) : undefined;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || name.startsWith("proxy-")) continue;
    if (scoped?.(name) || dropped(name, drop)) continue;
    out[name] = typeof value === "string" ? value : value.join(", ");
  }
  const peer = req.socket.remoteAddress ?? "";
  out["x-forwarded-for"] = out["x-forwarded-for"] ? `${out["x-forwarded-for"]}, ${peer}` : peer;
  out["x-request-id"] = ctx.requestId;
  out["traceparent"] = ctx.traceparent;
  if (headers.host) out["x-forwarded-host"] = headers.host;
  return out;
}

function dropped(name: string, prefixes: readonly string[]): boolean {
  for (const prefix of prefixes) if (name.startsWith(prefix)) return true;
  return false;
}

export interface ForwardOptions {
  set: ReplicaSet;
  ctx: RequestContext;
  /** The normalised request target to send (requestTarget.ts), never the raw one. */
  path: string;
  bodyLimitBytes: number;
}

/**
 * Forwards `req` to one of `set`'s replicas and streams the answer to `res`, failing over as
 * `sendToReplicas` does. The body streams through too, read only as the gateway reads it: the
 * gateway checks the caller's key and limits before it reads a byte, so an unauthenticated
 * caller cannot make this hop hold its upload. Resolves with the replica that answered, once
 * `res` is closed.
 */
export async function forward(
  req: IncomingMessage,
  res: ServerResponse,
  opts: ForwardOptions,
): Promise<Replica> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > opts.bodyLimitBytes) throw tooLarge(opts.bodyLimitBytes);
  const hasBody = declared > 0 || req.headers["transfer-encoding"] !== undefined;
  const headers = forwardHeaders(req, opts.ctx);
  // With its length the next hop can refuse an oversized stream before reading it.
  if (declared > 0) headers["content-length"] = String(declared);
  const method = req.method ?? "GET";
  const body = hasBody ? bodyViews(req) : undefined;
  // Whether there is a body to send again is the views' to say.
  const retryable = IDEMPOTENT.has(method) || headers["idempotency-key"] !== undefined;
  const { set } = opts;
  // A client that goes away before its answer is not an upstream failure: stop the call.
  let call: DispatchedCall | undefined;
  let gone = false;
  const stop = () => {
    gone = true;
    call?.abort();
  };
  res.once("close", stop);
  const tried = new Set<Replica>();
  let lastError: unknown;
  while (tried.size < set.replicas.length) {
    const sent = body?.();
    // A stream that an earlier attempt read from, and kept no copy of: none to send again.
    if (body && !sent) break;
    const replica = set.pick(tried);
    if (!replica) break;
    tried.add(replica);
    call = new DispatchedCall();
    try {
      await call.send(replica.pool, { method, path: opts.path, headers, body: sent });
    } catch (err) {
      if (gone) throw err;
      lastError = err;
      if (failover(set, replica, err, retryable)) continue;
      throw new NoReplicaError(set.name, tried.size, err);
    }
    set.succeeded(replica);
    res.off("close", stop);
    await call.relay(res);
    return replica;
  }
  res.off("close", stop);
  throw new NoReplicaError(set.name, tried.size, lastError);
}
