import type { Express } from "express";
import { domains, matchRoute, routingRules, type Catalog } from "../../infra/catalog/index.ts";
import { createApp, finishApp } from "../shared/http.ts";
import type { Logger } from "../shared/logger.ts";
import type { Metrics } from "../shared/metrics.ts";
import { proxyRequest } from "../shared/proxy.ts";
import { ReplicaSet } from "../shared/upstream.ts";

export interface RouterOptions {
  catalog: Catalog;
  /** Base URLs of each domain's gateway replicas. */
  tiers: Record<string, string[]>;
  logger: Logger;
  metrics: Metrics;
  draining: () => boolean;
}

/** Large enough for any API payload; the gateways enforce the per-route limits. */
const BODY_LIMIT = 4 * 1024 * 1024;

/**
 * The routing tier (the seeds' "middleware router"): sends each `/v1` path to the gateway tier
 * of the domain that owns it, from the catalog's rules; paths no service claims go to the
 * catalog's default domain, whose gateway answers them. On AWS the ALB's listener rules do this.
 */
export function createRouter(opts: RouterOptions): { app: Express; close: () => Promise<void> } {
  const rules = routingRules(opts.catalog);
  const sets = new Map(
    domains(opts.catalog).map((d) => {
      const urls = opts.tiers[d.name];
      if (!urls?.length) throw new Error(`router: no replica URL for the ${d.name} gateway tier`);
      return [d.name, new ReplicaSet(`${d.name}-gateway`, urls, { healthIntervalMs: 1_000 })];
    }),
  );
  const app = createApp({
    logger: opts.logger,
    metrics: opts.metrics,
    draining: opts.draining,
    ready: async () => ({}),
    upstreams: async () =>
      Object.fromEntries(
        [...sets].map(([domain, set]) => [`${domain}-gateway`, set.healthyCount() > 0]),
      ),
  });

  app.use(async (req, res, next) => {
    if (req.path !== "/v1" && !req.path.startsWith("/v1/")) return next();
    const rule = matchRoute(rules, req.path);
    const domain = rule?.domain ?? opts.catalog.defaultDomain;
    res.locals.route = rule?.prefix ?? "/v1/*";
    await proxyRequest(req, res, next, {
      set: sets.get(domain)!,
      ctx: res.locals.ctx,
      bodyLimitBytes: BODY_LIMIT,
      upstream: `the ${domain} gateway tier`,
      logger: opts.logger,
    });
  });
  finishApp(app, opts.logger);
  return {
    app,
    close: async () => void (await Promise.all([...sets.values()].map((s) => s.close()))),
  };
}
