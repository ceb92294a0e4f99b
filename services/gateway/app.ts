import { createHash, timingSafeEqual } from "node:crypto";
import express, { type Express, type RequestHandler } from "express";
import type { RequestListener } from "node:http";
import type { Catalog, ServiceSpec } from "../../platform/catalog/schema.ts";
import { matchRoute, routingRules, type RoutingRule } from "../../platform/catalog/topology.ts";
import { versionedName } from "../../platform/runtimeEnv.ts";
import { DOCS_PATH, OPENAPI_PATH, apiDocsRoutes } from "../api/docsRoutes.ts";
import { consoleRoutes } from "../console/routes.ts";
import { publishedOperations } from "../api/registry.ts";
import type { Cache } from "../shared/cache.ts";
import { checkBody, requireSignedCall } from "../shared/callSignature.ts";
import {
  ApiError,
  badRequest,
  routeNotFound,
  unauthorized,
  unavailable,
} from "../shared/errors.ts";
import { answerError, createApp, finishApp, traceStep } from "../shared/http.ts";
import type { Logger } from "../shared/logger.ts";
import type { Metrics } from "../shared/metrics.ts";
import { parseTarget, type RequestTarget } from "../shared/requestTarget.ts";
import { ReplicaSet } from "../shared/upstream.ts";
import { isAdmin } from "../shared/principal.ts";
import { createVerifier, replicaSetCall, requireApiKey } from "./auth.ts";
import { readThroughCache } from "./cachedReads.ts";
import { chainOf } from "./chain.ts";
import { edgeSchemas } from "./edgeSchemas.ts";
import { fallback, forward, type WriteQueue } from "./forward.ts";
import { gatewayMetrics, type GatewayMetrics } from "./metrics.ts";
import { ServiceClient } from "./serviceClient.ts";
import { createQuotaStep } from "./quota.ts";
import { BodyBudget } from "./requestBody.ts";
import { askRevocations, followRevocations } from "./revocations.ts";
import type { ResponseCache } from "./responseCache.ts";
import { validateRequest } from "./validation.ts";
import { VersionRouter, chooseVersion } from "./versionRouter.ts";
import { VERSIONS_PATH, versionsServiceOf } from "./versionsPath.ts";

export interface GatewayOptions {
  catalog: Catalog;
  domain: string;
  /** Base URLs of the replicas of each of this domain's service versions (`versionedName` keys). */
  upstreams: Record<string, string[]>;
  /** Where API keys are verified: the auth service's replicas, or the tier that hosts it. */
  authUrls: string[];
  /** Where quotas are checked (QUOTA_URL); needed when a route of this tier turns quota on. */
  quotaUrls?: string[];
  /** Shared by the tier's replicas (Redis when configured): verdicts and version weights. */
  store: Cache;
  logger: Logger;
  metrics: Metrics;
  draining: () => boolean;
  /**
   * Proxies in front of this tier that append to X-Forwarded-For (platform/runtimeEnv.ts
   * `PROXY_HOPS`): the client's address, for per-address limits, is that many entries back.
   */
  proxyHops: number;
  /** Admin token for /admin (weights); admin endpoints are off without one. */
  adminToken?: string;
  /** PRINCIPAL_SECRET: signs the principal sent to services and the verdicts kept in `store`. */
  principalSecret: string;
  rateLimit?: RequestHandler;
  /** The response cache for reads (GETs of routes whose catalog entry sets a ttl). */
  readCache?: ResponseCache;
  writeQueue?: WriteQueue;
  /** The dead-letter queue's admin listing (depth and poison messages), under /admin/dlq. */
  dlqAdmin?: RequestHandler;
  /** Publishes one event per answered request for analytics (requestEvents.ts). */
  requestEvents?: RequestHandler;
  /** Active health checks of the upstream replicas, in ms (default 1000). */
  healthIntervalMs?: number;
  /** Request body bytes this replica may hold at once (GATEWAY_BUFFERED_BODY_BYTES; 256 MiB). */
  bufferedBodyBytes?: number;
  /** How often to ask for revoked keys, in ms (default `REVOCATION_POLL_MS`, 2 s). */
  revocationPollMs?: number;
}

interface Target {
  service: string;
  spec: ServiceSpec;
  route: string;
}

declare module "express-serve-static-core" {
  interface Locals {
    target?: Target;
  }
}

function replicaSet(
  name: string,
  urls: string[],
  metrics: GatewayMetrics,
  healthIntervalMs: number,
  signWith: string,
): ReplicaSet {
  return new ReplicaSet(name, urls, {
    healthIntervalMs,
    signWith,
    onChange: (replica, event) => {
      if (event === "ejected") metrics.ejections.inc({ upstream: name });
      // A task or pod that left its DNS name is no replica any more, not an unhealthy one.
      if (event === "removed") {
        metrics.replicaHealthy.remove({ upstream: name, replica: replica.url });
        return;
      }
      const now = Date.now();
      metrics.replicaHealthy.set(
        { upstream: name, replica: replica.url },
        replica.healthy && replica.ejectedUntil <= now ? 1 : 0,
      );
    },
  });
}

/**
 * One gateway tier; the same code runs as every domain's tier, configured by the catalog. Its
 * chain, listed in this order at the end of this function, one module per step:
 *
 *   request id, trace context, access log and metrics -> request event -> route ->
 *   rate limit -> API-key auth -> validation -> quota -> version router -> response cache ->
 *   circuit breaker -> retry (backoff, jitter, budget) -> failover -> proxy
 *   on failure: stale cached answer, else dead-letter queue (writes) or the domain's fallback.
 *
 * The chain runs every `/v1` request straight from node:http (chain.ts); express answers the
 * rest: health, metrics, the API's description, /internal and /admin.
 */
export function createGateway(opts: GatewayOptions): {
  handler: RequestListener;
  /** The replica sets of this tier's service versions, for the dead-letter queue's replayer. */
  replicaSets: Map<string, ReplicaSet>;
  close: () => Promise<void>;
} {
  const domainSpec = opts.catalog.domains[opts.domain];
  if (!domainSpec) throw new Error(`gateway: unknown domain "${opts.domain}"`);
  const rules = routingRules(opts.catalog).filter((r) => r.domain === opts.domain);
  if (rules.length === 0)
    throw new Error(`gateway: the catalog gives domain "${opts.domain}" no route`);
  const gm = gatewayMetrics(opts.metrics.registry);
  const healthIntervalMs = opts.healthIntervalMs ?? 1_000;

  const clients = new Map<string, ServiceClient>();
  const routers = new Map<string, VersionRouter>();
  for (const service of new Set(rules.map((r) => r.service))) {
    const spec = opts.catalog.services[service]!;
    for (const v of spec.versions) {
      const key = versionedName(service, v.name);
      const urls = opts.upstreams[key];
      if (!urls?.length) throw new Error(`gateway: no replica URL for ${key}`);
      clients.set(
        key,
        new ServiceClient(
          key,
          replicaSet(key, urls, gm, healthIntervalMs, opts.principalSecret),
          domainSpec.gateway.resilience,
          gm,
        ),
      );
    }
    routers.set(
      service,
      new VersionRouter({
        service,
        initial: Object.fromEntries(spec.versions.map((v) => [v.name, v.weight])),
        store: opts.store,
        logger: opts.logger,
      }),
    );
  }
  const auth = new ReplicaSet("auth", opts.authUrls, {
    healthIntervalMs,
    signWith: opts.principalSecret,
  });
  const authCall = replicaSetCall(auth);
  const verifier = createVerifier({
    auth: authCall,
    cache: opts.store,
    secret: opts.principalSecret,
    logger: opts.logger,
    fallbacks: gm.fallbacks,
  });
  const revocations = followRevocations({
    call: authCall,
    forget: (hashes) => verifier.forget(hashes),
    logger: opts.logger,
    ...(opts.revocationPollMs ? { intervalMs: opts.revocationPollMs } : {}),
  });
  const quota = createQuotaStep({
    principalSecret: opts.principalSecret,
    catalog: opts.catalog,
    domain: opts.domain,
    urls: opts.quotaUrls,
    cache: opts.store,
    logger: opts.logger,
    registry: opts.metrics.registry,
    healthIntervalMs,
  });

  const app = createApp({
    logger: opts.logger,
    metrics: opts.metrics,
    draining: opts.draining,
    // Not before each version router has read the tier's live weights: a new replica would
    // otherwise route its first requests by the catalog's.
    ready: async () => {
      await Promise.all([...routers.values()].map((r) => r.loaded));
      return {};
    },
    upstreams: async () => ({
      store: await opts.store.ping(),
      auth: auth.healthyCount() > 0,
      ...(quota.healthy() === undefined ? {} : { quota: quota.healthy() }),
      ...Object.fromEntries([...clients].map(([name, c]) => [name, c.set.healthyCount() > 0])),
    }),
  });

  app.set("trust proxy", opts.proxyHops);
  if (opts.requestEvents) app.use(opts.requestEvents);

  // Internal routes answer only calls this stack signed (callSignature.ts): the other tiers and
  // the services that report usage, never whatever else reaches the port.
  app.use("/internal", requireSignedCall(opts.principalSecret));

  /** An internal JSON route: `answer` gives the JSON to send, or throws the ApiError to answer. */
  const internalRoute = (
    path: string,
    limit: string,
    answer: (body: Record<string, unknown>, requestId: string) => Promise<unknown>,
  ) =>
    app.post(path, express.json({ limit, verify: checkBody }), async (req, res, next) => {
      res.locals.route = path;
      try {
        res.json(
          await answer((req.body ?? {}) as Record<string, unknown>, res.locals.ctx.requestId),
        );
      } catch (err) {
        next(err);
      }
    });

  // Internal: the other tiers verify keys here, so that only this tier talks to the auth service.
  internalRoute("/internal/verify", "4kb", async ({ key }, requestId) => {
    if (typeof key !== "string")
      throw badRequest("missing_key", 'body must be {"key": "sk-..."}', "key");
    const principal = await verifier.verify(key, requestId);
    if (!principal) throw unauthorized("invalid API key");
    return { principal };
  });

  // Internal: the other tiers follow revocations here too (revocations.ts), relayed as asked.
  internalRoute("/internal/revocations", "1kb", async ({ since }, requestId) => {
    if (since !== undefined && typeof since !== "string")
      throw badRequest("invalid_since", "since must be an ISO date-time", "since");
    try {
      return await askRevocations(authCall, since, requestId);
    } catch (err) {
      opts.logger.warn({ err, requestId }, "revocations: the auth service did not answer");
      throw unavailable("revocations_unavailable", "cannot read key revocations now, retry later");
    }
  });

  // Internal, on the tier that hosts quota: the other tiers' checks and chat's usage reports.
  quota.mount(app);

  mountAdmin(app, opts.adminToken, routers, opts.store, opts.dlqAdmin);
  // Public, for admin keys: the version weights of this tier's services (versionsPath.ts).
  weightsRoutes(
    app,
    `${VERSIONS_PATH}/:service`,
    [
      versionsTarget(rules, opts.catalog),
      ...(opts.rateLimit ? [opts.rateLimit] : []),
      requireApiKey(verifier),
      adminKeyOnly,
    ],
    routers,
    opts.store,
  );

  // The one place a request's route is decided; every later step reads `res.locals.target`.
  const resolveRoute: RequestHandler = (req, res, next) => {
    const rule = matchRoute(rules, res.locals.url.path);
    if (!rule) return next(routeNotFound(req.method, res.locals.url.path));
    res.locals.route = rule.prefix;
    res.locals.target = {
      service: rule.service,
      spec: opts.catalog.services[rule.service]!,
      route: rule.prefix,
    };
    next();
  };

  // The API's description and the web console, public: before the chain, which would ask for a
  // key (the console asks its user for one, and sends it with each call).
  apiDocsRoutes(app, opts.catalog);
  consoleRoutes(app);

  // The chain, in request order (DESIGN.md). Each step answers the request itself or passes it
  // on; an upstream failure skips to the fallback. Every step reads the route resolved first.
  const chain = chainOf(
    app,
    [
      traceStep(opts),
      ...(opts.requestEvents ? [opts.requestEvents] : []),
      resolveRoute,
      ...(opts.rateLimit ? [opts.rateLimit] : []),
      // The key before the body: an unauthenticated caller must not make the tier read its upload.
      requireApiKey(verifier),
      validateRequest({
        schemaFor: edgeSchemas(publishedOperations),
        budget: new BodyBudget(opts.bufferedBodyBytes),
      }),
      ...(quota.step ? [quota.step] : []),
      chooseVersion(routers, (service, version) => clients.get(versionedName(service, version))!),
      readThroughCache(opts.readCache),
      // Circuit breaker -> retry (backoff, jitter, budget) -> failover -> proxy (ServiceClient).
      forward(opts.readCache),
    ],
    [
      // On failure: a stale cached answer, the dead-letter queue (writes), or the domain's answer.
      fallback({
        domainFallback: domainSpec.gateway.fallback,
        metrics: gm,
        logger: opts.logger,
        readCache: opts.readCache,
        writeQueue: opts.writeQueue,
      }),
      answerError(opts.logger),
    ],
  );

  finishApp(app, opts.logger);
  return {
    handler: (req, res) => {
      const target = chainTarget(req.url);
      if (target) chain(req, res, target);
      else app(req, res);
    },
    replicaSets: new Map([...clients].map(([key, c]) => [key, c.set])),
    close: async () => {
      revocations.stop();
      for (const r of routers.values()) r.close();
      await Promise.all([
        auth.close(),
        quota.close(),
        ...[...clients.values()].map((c) => c.close()),
      ]);
      await opts.store.close();
    },
  };
}

/**
 * The target of a request the chain answers: a `/v1` path but the API's description. A target
 * that cannot be read goes to express, whose first step answers it with the API's 400.
 */
function chainTarget(raw: string | undefined): RequestTarget | undefined {
  let target: RequestTarget;
  try {
    target = parseTarget(raw);
  } catch {
    return undefined;
  }
  const { path } = target;
  if (path !== "/v1" && !path.startsWith("/v1/")) return undefined;
  if (path === OPENAPI_PATH || path === DOCS_PATH || path.startsWith(`${DOCS_PATH}/`))
    return undefined;
  if (versionsServiceOf(path) !== undefined) return undefined;
  return target;
}

/**
 * Admin endpoints (not routed from the public edge, and token-protected as well): read and
 * change the version weights of this tier's services while traffic flows, and see the
 * dead-letter queue's depth and poison messages.
 */
function mountAdmin(
  app: Express,
  token: string | undefined,
  routers: Map<string, VersionRouter>,
  store: Cache,
  dlqAdmin: RequestHandler | undefined,
): void {
  const expected = token ? createHash("sha256").update(token).digest() : undefined;
  const requireAdmin: RequestHandler = (req, res, next) => {
    res.locals.route = "/admin";
    if (!expected)
      return next(
        new ApiError(
          403,
          "permission_error",
          "admin_disabled",
          "admin endpoints need ADMIN_TOKEN to be set",
        ),
      );
    const given = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1] ?? "";
    const digest = createHash("sha256").update(given).digest();
    if (!timingSafeEqual(digest, expected)) return next(unauthorized("invalid admin token"));
    next();
  };
  app.get("/admin/versions", requireAdmin, (_req, res) => {
    res.json(Object.fromEntries([...routers].map(([service, r]) => [service, r.current()])));
  });
  weightsRoutes(app, "/admin/versions/:service", [requireAdmin], routers, store);
  if (dlqAdmin) app.get("/admin/dlq", requireAdmin, dlqAdmin);
}

/**
 * Read and set one service's version weights: `GET|PUT <path>` (`{weights}`), behind `guards`.
 * The admin port's routes (the run's admin token) and the public ones (an admin API key).
 */
function weightsRoutes(
  app: Express,
  path: string,
  guards: RequestHandler[],
  routers: Map<string, VersionRouter>,
  store: Cache,
): void {
  const routerOf = (service: unknown) => {
    const router = routers.get(String(service));
    if (!router) throw noVersionsOf(String(service));
    return router;
  };
  // `shared`: whether every replica of the tier applies what one was told (a Redis store), or
  // only the replica that answered (each keeps its own: `npm start` without REDIS_URL).
  const answer = (r: VersionRouter) => ({
    service: r.service,
    weights: r.current(),
    shared: store.kind === "redis",
  });
  app.get(path, ...guards, (req, res) => {
    res.json(answer(routerOf(req.params["service"])));
  });
  app.put(path, ...guards, express.json({ limit: "4kb" }), async (req, res) => {
    const router = routerOf(req.params["service"]);
    await router.setWeights((req.body as { weights?: unknown } | undefined)?.weights);
    res.json(answer(router));
  });
}

const noVersionsOf = (service: string) =>
  new ApiError(
    404,
    "not_found_error",
    "service_not_found",
    `this tier routes no versions of ${service}`,
  );

/**
 * The public weights API's first step: a service this tier routes is the request's target (its
 * rate limits apply, before the key check, as in the chain); any other is a 404 at once, which
 * costs no verification.
 */
function versionsTarget(rules: RoutingRule[], catalog: Catalog): RequestHandler {
  return (req, res, next) => {
    res.locals.route = VERSIONS_PATH;
    const service = String(req.params["service"]);
    const rule = rules.find((r) => r.service === service);
    if (!rule) return next(noVersionsOf(service));
    res.locals.target = { service, spec: catalog.services[service]!, route: rule.prefix };
    next();
  };
}

/** The public weights API's guard, after the key check: the key must carry the `admin` scope. */
const adminKeyOnly: RequestHandler = (_req, res, next) => {
  if (res.locals.principal && isAdmin(res.locals.principal)) return next();
  next(new ApiError(403, "permission_error", "admin_required", "this needs an admin API key"));
};
