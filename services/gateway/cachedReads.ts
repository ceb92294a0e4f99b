import type { RequestHandler } from "express";
import { upstreamCall } from "./forward.ts";
import { X_CACHE, bufferResponse, sendCached, type ResponseCache } from "./responseCache.ts";

/**
 * The response-cache step of the gateway's chain: a GET of a route whose catalog entry sets a
 * ttl is answered from the cache, or fetched once for every caller waiting on it (responseCache.ts)
 * and kept. Everything else goes on. With the version's breaker open a fill cannot succeed: the
 * request goes on to fail fast, and the fallback serves the last answer kept under this key.
 */
export function readThroughCache(cache: ResponseCache | undefined): RequestHandler {
  return async (req, res, next) => {
    const { spec, route } = res.locals.target!;
    const policy = spec.traffic.cache;
    if (!cache || req.method !== "GET" || policy.ttlSeconds <= 0) return next();
    const key = cache.key({
      route,
      path: res.locals.url.path,
      query: res.locals.url.query,
      principal: policy.perPrincipal ? res.locals.principal!.userId : undefined,
    });
    res.locals.cacheKey = key;
    const client = res.locals.client!;
    if (client.breakerOpen) return next();
    try {
      // The fetch may outlive this request (a stale entry is refreshed after the answer), so it
      // must not be cancelled when this client goes away.
      const { response, state } = await cache.getOrFetch(key, policy, async () =>
        bufferResponse((await client.call(upstreamCall(req, res))).response),
      );
      res.locals.decision = `cache:${state}`;
      sendCached(res, response, X_CACHE[state]);
    } catch (err) {
      if (res.headersSent) return void res.destroy();
      next(err);
    }
  };
}
