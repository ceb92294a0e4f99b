import type { Response } from "express";
import { ApiError, PROCESSED_HEADER } from "../shared/errors.ts";
import type { GatewayMetrics } from "./metrics.ts";
import { sendCached, type CachedResponse } from "./responseCache.ts";

export interface FallbackContext {
  service: string;
  /** The domain's fallback from the catalog: `cached` (identity) or `degraded` (business). */
  domainFallback: "cached" | "degraded";
  isWrite: boolean;
  idempotencyKey: string | undefined;
  /** The last answer cached for this request, if the route caches (stale is better than none). */
  lastKnown?: () => Promise<CachedResponse | undefined>;
  /** The body was streamed to the service (an upload), so the write cannot be parked. */
  streamedBody?: boolean;
  /** Parks the write in the dead-letter queue for replay; absent where writes are not parked. */
  park?: () => Promise<{ trackingId: string; duplicate: boolean }>;
  /** An attempt of the request may have reached the service (serviceClient's `mayHaveReached`). */
  reached: boolean;
  metrics: GatewayMetrics;
  requestId: string;
}

/**
 * The fallback handler, run once breaker, retries and failover have all failed, in the order the
 * seeds give: a stale cached answer if there is one; for a degraded domain, a write with an
 * Idempotency-Key goes to the dead-letter queue (202, replayed later); otherwise the domain's
 * own answer, a JSON 503 with Retry-After. A write without an Idempotency-Key is never parked:
 * without the key its replay could not be made exactly-once.
 */
export async function answerWithFallback(res: Response, ctx: FallbackContext): Promise<string> {
  const count = (kind: string) => {
    ctx.metrics.fallbacks.inc({ upstream: ctx.service, kind });
    res.locals.decision = `fallback:${kind}`;
    return kind;
  };
  res.setHeader("x-should-retry", "false");

  if (!ctx.isWrite && ctx.lastKnown) {
    const stale = await ctx.lastKnown().catch(() => undefined);
    if (stale) {
      sendCached(res, stale, "STALE-IF-ERROR");
      return count("stale-cache");
    }
  }
  if (ctx.isWrite && ctx.idempotencyKey && ctx.park) {
    const parked = await ctx.park();
    res.status(202).json({
      object: "queued_request",
      id: parked.trackingId,
      status: "queued",
      duplicate: parked.duplicate,
      message: `${ctx.service} is unavailable; the request is queued and will be delivered once, when it is back`,
    });
    return count("dead-letter-queue");
  }
  const hint = !ctx.isWrite
    ? ""
    : ctx.streamedBody
      ? ctx.reached
        ? " (uploads are not queued: list your files before sending it again)"
        : " (uploads are not queued: send it again shortly)"
      : " (send an Idempotency-Key to have writes queued instead)";
  // Said only when true: a request that reached the service and got no answer may be done.
  const outcome = ctx.reached
    ? "the request reached it but no answer came back, so it may or may not have been done"
    : "the request was not processed";
  const message =
    ctx.domainFallback === "degraded"
      ? `${ctx.service} is temporarily degraded; ${outcome}${hint}`
      : `${ctx.service} is temporarily unavailable and no cached answer exists; retry shortly`;
  const error = new ApiError(
    503,
    "service_unavailable",
    ctx.domainFallback === "degraded" ? "service_degraded" : "service_unavailable",
    message,
  );
  res.setHeader("retry-after", "2");
  if (!ctx.reached) res.setHeader(PROCESSED_HEADER, "false");
  res.status(503).json(error.body(ctx.requestId));
  return count(ctx.domainFallback);
}
