import express, { type Express } from "express";
import { matchRoute, routingRules, type Catalog } from "../../infra/catalog/index.ts";
import type { Cache } from "../shared/cache.ts";
import { badRequest, routeNotFound, unauthorized } from "../shared/errors.ts";
import { createApp, finishApp } from "../shared/http.ts";
import type { Logger } from "../shared/logger.ts";
import type { Metrics } from "../shared/metrics.ts";
import { PRINCIPAL_HEADER_PREFIX, principalHeaders } from "../shared/principal.ts";
import { proxyRequest } from "../shared/proxy.ts";
import { ReplicaSet } from "../shared/upstream.ts";
import { createVerifier, requireApiKey } from "./auth.ts";

export interface GatewayOptions {
  catalog: Catalog;
  domain: string;
  /** Base URLs of the replicas of each of this domain's services. */
  upstreams: Record<string, string[]>;
  /** Where API keys are verified: the auth service's replicas, or the tier that hosts it. */
  authUrls: string[];
  cache: Cache;
  logger: Logger;
  metrics: Metrics;
  draining: () => boolean;
}

const BODY_LIMIT = 1024 * 1024;

/**
 * One gateway tier: the same code runs as every domain's tier, configured by the catalog. It
 * verifies the caller, then forwards to a healthy replica of the service that owns the path.
 */
export function createGateway(opts: GatewayOptions): { app: Express; close: () => Promise<void> } {
  const rules = routingRules(opts.catalog).filter((r) => r.domain === opts.domain);
  if (rules.length === 0)
    throw new Error(`gateway: the catalog gives domain "${opts.domain}" no route`);
  const sets = new Map(
    [...new Set(rules.map((r) => r.service))].map((service) => {
      const urls = opts.upstreams[service];
      if (!urls?.length) throw new Error(`gateway: no replica URL for service ${service}`);
      return [service, new ReplicaSet(service, urls)];
    }),
  );
  const auth = new ReplicaSet("auth", opts.authUrls);
  const verifier = createVerifier({ auth, cache: opts.cache, logger: opts.logger });

  const app = createApp({
    logger: opts.logger,
    metrics: opts.metrics,
    draining: opts.draining,
    ready: async () => ({
      cache: await opts.cache.ping(),
      auth: auth.healthyCount() > 0,
      ...Object.fromEntries([...sets].map(([name, set]) => [name, set.healthyCount() > 0])),
    }),
  });

  // Internal: the other tiers verify keys here, so that only this tier talks to the auth service.
  app.post("/internal/verify", express.json({ limit: "4kb" }), async (req, res, next) => {
    res.locals.route = "/internal/verify";
    const key = (req.body as { key?: unknown } | undefined)?.key;
    if (typeof key !== "string")
      return next(badRequest("missing_key", 'body must be {"key": "sk-..."}', "key"));
    try {
      const principal = await verifier.verify(key, res.locals.ctx.requestId);
      if (!principal) return next(unauthorized("invalid API key"));
      res.json({ principal });
    } catch (err) {
      next(err);
    }
  });

  app.use("/v1", requireApiKey(verifier));
  app.use(async (req, res, next) => {
    if (!req.path.startsWith("/v1/")) return next();
    const rule = matchRoute(rules, req.path);
    if (!rule) return next(routeNotFound(req.method, req.path));
    res.locals.route = rule.prefix;
    await proxyRequest(req, res, next, {
      set: sets.get(rule.service)!,
      ctx: res.locals.ctx,
      bodyLimitBytes: BODY_LIMIT,
      dropHeaders: ["authorization", PRINCIPAL_HEADER_PREFIX],
      extraHeaders: principalHeaders(res.locals.principal!),
      upstream: rule.service,
      logger: opts.logger,
    });
  });
  finishApp(app, opts.logger);
  return {
    app,
    close: async () => {
      await Promise.all([auth.close(), ...[...sets.values()].map((s) => s.close())]);
      await opts.cache.close();
    },
  };
}
