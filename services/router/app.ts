import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import type { Catalog } from "../../platform/catalog/schema.ts";
import { edgeLimits, matchRoute, routingRules } from "../../platform/catalog/topology.ts";
import { ApiError, errorBody, routeNotFound } from "../shared/errors.ts";
import { recordRequest } from "../shared/http.ts";
import type { Logger } from "../shared/logger.ts";
import type { Metrics } from "../shared/metrics.ts";
import { forward } from "../shared/proxy.ts";
import { parseTarget, type RequestTarget } from "../shared/requestTarget.ts";
import { tierSets } from "../shared/tiers.ts";
import { requestContext, type RequestContext } from "../shared/trace.ts";
import { NoReplicaError } from "../shared/upstream.ts";
import { CONSOLE_PATH } from "../console/paths.ts";
import { VERSIONS_PATH, versionsServiceOf } from "../gateway/versionsPath.ts";

export interface RouterOptions {
  catalog: Catalog;
  /** Base URLs of each domain's gateway replicas. */
  tiers: Record<string, string[]>;
  logger: Logger;
  metrics: Metrics;
  draining: () => boolean;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

/**
 * The routing tier (the seeds' "middleware router"): sends each `/v1` path to the gateway tier
 * of the domain that owns it, from the catalog's rules; paths no service claims go to the
 * catalog's default domain, whose gateway answers them. On AWS the ALB's listener rules do this.
 *
 * A plain `node:http` handler rather than express: the router is a hop on every request, and
 * the throughput bench showed it costing as much CPU as a whole gateway when it was express.
 */
export function createRouter(opts: RouterOptions): {
  /** The public port: the API, /healthz, and a /readyz that says only ready or not. */
  handler: RequestListener;
  /** The ops port (OPS_PORT, never published): /readyz with its details, and /metrics. */
  opsHandler: RequestListener;
  close: () => Promise<void>;
} {
  const rules = routingRules(opts.catalog);
  // The gateways enforce each route's own limit; the router must not refuse less than the largest.
  const { maxBodyBytes: bodyLimitBytes } = edgeLimits(opts.catalog);
  const sets = tierSets(opts.catalog, opts.tiers, "router", 1_000);

  async function route(
    req: IncomingMessage,
    res: ServerResponse,
    ctx: RequestContext,
    target: RequestTarget,
    record: { route: string; upstream?: string; decision?: string },
    ops: boolean,
  ): Promise<void> {
    const { path } = target;
    if (path === "/healthz") {
      record.route = "health";
      return sendJson(res, 200, { status: "ok" });
    }
    if (path === "/readyz") {
      record.route = "health";
      if (opts.draining()) return sendJson(res, 503, { status: "draining" });
      // Probes on the public port need the status alone; which tiers are up is for monitoring.
      if (!ops) return sendJson(res, 200, { status: "ready" });
      // The tiers are reported, not required: a router must stay in rotation whatever they do.
      const upstreams = Object.fromEntries(
        [...sets].map(([domain, set]) => [`${domain}-gateway`, set.healthyCount() > 0]),
      );
      return sendJson(res, 200, { status: "ready", checks: {}, upstreams });
    }
    if (path === "/metrics" && ops) {
      record.route = "health";
      const text = await opts.metrics.registry.metrics();
      res.writeHead(200, { "content-type": opts.metrics.registry.contentType });
      return void res.end(text);
    }
    // The API, and the web console, which the default domain's gateways serve.
    const toConsole = path === CONSOLE_PATH || path.startsWith(`${CONSOLE_PATH}/`);
    if (path !== "/v1" && !path.startsWith("/v1/") && !toConsole) {
      return sendJson(res, 404, routeNotFound(req.method ?? "GET", path).body(ctx.requestId));
    }
    // The version weights of a service are its own tier's to answer.
    const versionsOf = versionsServiceOf(path);
    const rule = versionsOf === undefined ? matchRoute(rules, path) : undefined;
    const domain =
      (versionsOf === undefined ? rule?.domain : opts.catalog.services[versionsOf]?.domain) ??
      opts.catalog.defaultDomain;
    record.route = toConsole
      ? CONSOLE_PATH
      : versionsOf !== undefined
        ? VERSIONS_PATH
        : (rule?.prefix ?? "/v1/*");
    try {
      const replica = await forward(req, res, {
        set: sets.get(domain)!,
        ctx,
        path: target.url,
        bodyLimitBytes,
      });
      record.upstream = replica.url;
    } catch (err) {
      if (res.headersSent) return void res.destroy();
      if (err instanceof NoReplicaError) {
        record.decision = "no-healthy-gateway";
        res.setHeader("retry-after", "1");
        const answer = new ApiError(
          503,
          "service_unavailable",
          "upstream_unavailable",
          `the ${domain} gateway tier is unavailable, retry later`,
        );
        return sendJson(res, 503, answer.body(ctx.requestId));
      }
      if (err instanceof ApiError) return sendJson(res, err.status, err.body(ctx.requestId));
      if (req.destroyed) return;
      opts.logger.error({ err, requestId: ctx.requestId, domain }, "forward failed");
      sendJson(res, 502, errorBody("bad gateway", "api_error", "bad_gateway", null, ctx.requestId));
    }
  }

  const listener =
    (ops: boolean): RequestListener =>
    (req, res) => {
      const started = process.hrtime.bigint();
      const ctx = requestContext(req.headers);
      res.setHeader("x-request-id", ctx.requestId);
      // While draining, each answer closes its connection, so keep-alive callers reconnect to a
      // replica that is staying.
      if (opts.draining()) res.setHeader("connection", "close");
      const record: { route: string; upstream?: string; decision?: string } = { route: "other" };
      let target: RequestTarget | undefined;
      res.on("finish", () =>
        recordRequest(opts.metrics, opts.logger, started, {
          ctx,
          method: req.method ?? "GET",
          path: target?.path ?? "",
          status: res.statusCode,
          ...record,
        }),
      );
      try {
        target = parseTarget(req.url);
      } catch (err) {
        // The body of a refused request is not wanted; reading it would only cost.
        res.setHeader("connection", "close");
        return sendJson(res, 400, (err as ApiError).body(ctx.requestId));
      }
      route(req, res, ctx, target, record, ops).catch((err: unknown) => {
        opts.logger.error({ err, requestId: ctx.requestId }, "router failed");
        if (!res.headersSent)
          sendJson(
            res,
            500,
            errorBody("internal error", "api_error", "internal_error", null, ctx.requestId),
          );
        else res.destroy();
      });
    };

  return {
    handler: listener(false),
    opsHandler: listener(true),
    close: async () => void (await Promise.all([...sets.values()].map((s) => s.close()))),
  };
}
