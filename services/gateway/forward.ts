import type { ErrorRequestHandler, Request, RequestHandler, Response } from "express";
import { callerRoles } from "../../platform/catalog/schema.ts";
import { CALL_SIGNATURE_HEADER } from "../shared/callSignature.ts";
import type { Logger } from "../shared/logger.ts";
import { PRINCIPAL_HEADER_PREFIX, principalHeaders } from "../shared/principal.ts";
import { IDEMPOTENT, bodyViews, forwardHeaders } from "../shared/proxy.ts";
import type { WriteToPark } from "./dlq.ts";
import { answerWithFallback } from "./fallback.ts";
import type { GatewayMetrics } from "./metrics.ts";
import type { CacheKey, ResponseCache } from "./responseCache.ts";
import {
  isUpstreamFailure,
  mayHaveReached,
  type CallRequest,
  type ServiceClient,
} from "./serviceClient.ts";

// The last steps of the gateway's chain (services/gateway/app.ts): the call to the chosen
// version's replicas through breaker, retry and failover (ServiceClient), and, when that fails,
// the fallback: a stale cached answer, the dead-letter queue for a write, or the domain's answer.

const WRITES = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** Where writes wait while their service is down (services/gateway/dlq.ts). */
export interface WriteQueue {
  park(request: WriteToPark): Promise<{ trackingId: string; duplicate: boolean }>;
}

declare module "express-serve-static-core" {
  interface Locals {
    /** The client of the version the version router chose (versionRouter.ts `chooseVersion`). */
    client?: ServiceClient;
    /** The call as sent upstream, for the fallback's parked copy. */
    call?: CallRequest;
    /** The response cache's key of this request, when its route caches (responseCache.ts). */
    cacheKey?: CacheKey;
  }
}

/** What no service may read from the caller: the API key, and principals not signed here. */
const SERVICE_DROPS = ["authorization", PRINCIPAL_HEADER_PREFIX, CALL_SIGNATURE_HEADER];
/** The bridges (`callerRoles`) call each operation with the caller's key, through its own tier. */
const BRIDGE_DROPS = [PRINCIPAL_HEADER_PREFIX, CALL_SIGNATURE_HEADER];

/**
 * The request as the chosen version's replicas get it: hop-by-hop and client-sent principal
 * headers dropped, the principal added (signed per attempt, upstream.ts), and the body as read by
 * validation or, for an upload, streamed. `signal` stops the call when the client goes away.
 */
export function upstreamCall(req: Request, res: Response, signal?: AbortSignal): CallRequest {
  const { spec } = res.locals.target!;
  const headers = Object.assign(
    forwardHeaders(req, res.locals.ctx, callerRoles.has(spec.role) ? BRIDGE_DROPS : SERVICE_DROPS),
    principalHeaders(res.locals.principal!),
  );
  const streamed = res.locals.streamed === true;
  return {
    method: req.method,
    path: res.locals.url.url,
    headers,
    body: streamed ? bodyViews(req) : res.locals.body,
    maxBodyBytes: spec.traffic.maxBodyBytes,
    retryable: IDEMPOTENT.has(req.method) || req.headers["idempotency-key"] !== undefined,
    firstByteMs: spec.traffic.timeouts.firstByteMs,
    idleMs: spec.traffic.timeouts.idleMs,
    signal,
  };
}

/**
 * Breaker -> retry -> failover -> proxy: the answer streams back as it comes. A failure the
 * fallback answers for goes on to `fallback` (as an express error); a caller that went away gets
 * nothing more.
 */
export function forward(readCache: ResponseCache | undefined): RequestHandler {
  return async (req, res, next) => {
    const client = res.locals.client!;
    const aborted = new AbortController();
    res.once("close", () => {
      if (!res.writableFinished) aborted.abort();
    });
    const call = upstreamCall(req, res, aborted.signal);
    res.locals.call = call;
    try {
      const { response, attempts } = await client.call(call);
      if (attempts > 1) {
        // The gateway has retried already: SDKs that retry by themselves should not multiply it.
        res.setHeader("x-should-retry", "false");
        res.locals.decision = `retried:${attempts}`;
      }
      if (WRITES.has(req.method) && response.statusCode < 300 && readCache) {
        await readCache
          .invalidate(res.locals.target!.route, res.locals.principal!.userId)
          .catch(() => undefined);
      }
      await response.body.relay(res, response.statusCode, response.headers);
    } catch (err) {
      if (res.headersSent) return void res.destroy();
      if (aborted.signal.aborted) return;
      next(err);
    }
  };
}

export interface FallbackStepOptions {
  domainFallback: "cached" | "degraded";
  metrics: GatewayMetrics;
  logger: Logger;
  readCache?: ResponseCache;
  writeQueue?: WriteQueue;
}

/**
 * The fallback, run once breaker, retries and failover have all failed (fallback.ts). Only an
 * upstream failure comes here; any other error goes on to the error handler.
 */
export function fallback(opts: FallbackStepOptions): ErrorRequestHandler {
  return async (err, req, res, next) => {
    if (!isUpstreamFailure(err)) return next(err);
    const { service } = res.locals.target!;
    const client = res.locals.client!;
    const requestId = res.locals.ctx.requestId;
    opts.logger.warn(
      { requestId, upstream: client.name, err: (err as Error).message },
      "upstream failed; falling back",
    );
    const idempotencyKey = header(req.headers["idempotency-key"]);
    const streamed = res.locals.streamed === true;
    const queue = opts.writeQueue;
    const call = res.locals.call;
    const cacheKey = res.locals.cacheKey;
    try {
      await answerWithFallback(res, {
        service,
        domainFallback: opts.domainFallback,
        isWrite: WRITES.has(req.method),
        idempotencyKey,
        reached: mayHaveReached(err),
        metrics: opts.metrics,
        requestId,
        lastKnown: cacheKey !== undefined ? () => opts.readCache!.lastKnown(cacheKey) : undefined,
        streamedBody: streamed,
        // A streamed upload is gone by now: there is nothing to park.
        park:
          queue && call && opts.domainFallback === "degraded" && !streamed
            ? () =>
                queue.park({
                  idempotencyKey: idempotencyKey!,
                  principal: res.locals.principal!.userId,
                  service: client.name,
                  method: req.method,
                  path: res.locals.url.url,
                  headers: replayHeaders(call.headers),
                  body: (res.locals.body ?? Buffer.alloc(0)).toString("base64"),
                })
            : undefined,
      });
    } catch (fallbackErr) {
      next(fallbackErr);
    }
  };
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** What a replay needs to be the same request: its body type, idempotency key, caller and trace. */
function replayHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).filter(
      ([name]) =>
        name === "content-type" ||
        name === "idempotency-key" ||
        name === "traceparent" ||
        name === "x-request-id" ||
        name.startsWith(PRINCIPAL_HEADER_PREFIX),
    ),
  );
}
