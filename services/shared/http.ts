import express, { type ErrorRequestHandler, type Express, type RequestHandler } from "express";
import { createServer, type RequestListener, type Server } from "node:http";
import type { Duplex } from "node:stream";
import { ConfigError, envKey, fields, loadEnv } from "./config.ts";
import { ApiError, errorBody, routeNotFound } from "./errors.ts";
import { accessLogger, flushLogs, type Logger } from "./logger.ts";
import type { Metrics } from "./metrics.ts";
import { signedCallsOnly } from "./principal.ts";
import { parseTarget, type RequestTarget } from "./requestTarget.ts";
import { requestContext, type RequestContext } from "./trace.ts";

/** Reports each dependency as reachable or not; `/readyz` answers 503 unless all are. */
export type ReadinessCheck = () => Promise<Record<string, boolean>>;

export interface AppOptions {
  logger: Logger;
  metrics: Metrics;
  ready: ReadinessCheck;
  /**
   * Dependencies shown on `/readyz` that do not decide it. A proxy whose upstreams are all down
   * must stay in rotation to answer with its fallbacks; failing readiness on a dependency that
   * every replica shares would take the whole tier out (a cascade), not route around one replica.
   */
  upstreams?: ReadinessCheck;
  /** Set while draining: `/readyz` turns 503 so that balancers stop sending new requests. */
  draining?: () => boolean;
  /**
   * PRINCIPAL_SECRET, in a service: principal headers are believed, and `/internal/*` answered,
   * only under a call signature of this stack (principal.ts, callSignature.ts). Without it (the
   * gateways, which make principals) no principal is believed.
   */
  principalSecret?: string;
}

declare module "express-serve-static-core" {
  interface Locals {
    ctx: RequestContext;
    /** The request target, read and normalised once (requestTarget.ts); every step reads this. */
    url: RequestTarget;
    /** The route group for metrics and logs (a catalog prefix, never a raw path). */
    route?: string;
    upstream?: string;
    decision?: string;
  }
}

/** What one answered request was, for its metrics and its access-log line. */
export interface RequestRecord {
  ctx: RequestContext;
  method: string;
  path: string;
  /** The route group (a catalog prefix, `health`, or `other`), never a raw path. */
  route: string;
  status: number;
  upstream?: string;
  decision?: string;
}

/** Counts an answered request and writes its access-log line (health checks are not logged). */
export function recordRequest(
  metrics: Metrics,
  logger: Logger,
  started: bigint,
  r: RequestRecord,
): void {
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const status = String(r.status);
  metrics.requests.inc({ route: r.route, method: r.method, status, upstream: r.upstream ?? "" });
  metrics.duration.observe({ route: r.route, method: r.method, status }, seconds);
  if (r.route === "health") return;
  accessLogger(logger).info({
    requestId: r.ctx.requestId,
    traceId: r.ctx.traceId,
    method: r.method,
    path: r.path,
    route: r.route,
    status: r.status,
    upstream: r.upstream,
    decision: r.decision,
    ms: Math.round(seconds * 1e4) / 10,
  });
}

/**
 * The first step of every request: its id and trace context, the access log and metrics once it
 * is answered, and its target read once (a target already read by a dispatcher in front is kept).
 */
export function traceStep({
  logger,
  metrics,
  draining,
}: Pick<AppOptions, "logger" | "metrics" | "draining">): RequestHandler {
  return (req, res, next) => {
    const ctx = requestContext(req.headers);
    res.locals.ctx = ctx;
    res.setHeader("x-request-id", ctx.requestId);
    // While draining, each answer closes its connection, so keep-alive callers reconnect to a
    // replica that is staying.
    if (draining?.()) res.setHeader("connection", "close");
    const started = process.hrtime.bigint();
    res.on("finish", () =>
      recordRequest(metrics, logger, started, {
        ctx,
        method: req.method,
        path: res.locals.url?.path ?? "",
        route: res.locals.route ?? "other",
        status: res.statusCode,
        upstream: res.locals.upstream,
        decision: res.locals.decision,
      }),
    );
    try {
      res.locals.url ??= parseTarget(req.url);
    } catch (err) {
      return next(err);
    }
    // Express routes on `req.url`: it must see the same target as every step after it.
    req.url = res.locals.url.url;
    next();
  };
}

/** The base every express program shares: trace context, access log, metrics, health. */
export function createApp({
  logger,
  metrics,
  ready,
  upstreams,
  draining,
  principalSecret,
}: AppOptions): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);

  app.use(traceStep({ logger, metrics, draining }));
  if (principalSecret) app.use(signedCallsOnly(principalSecret));

  app.get("/healthz", (_req, res) => {
    res.locals.route = "health";
    res.json({ status: "ok" });
  });
  app.get("/readyz", async (_req, res) => {
    res.locals.route = "health";
    if (draining?.()) {
      res.status(503).json({ status: "draining" });
      return;
    }
    const checks = await ready().catch(() => ({ readiness: false }));
    const ok = Object.values(checks).every(Boolean);
    const seen = upstreams ? await upstreams().catch(() => ({})) : undefined;
    res
      .status(ok ? 200 : 503)
      .json({ status: ok ? "ready" : "not ready", checks, ...(seen ? { upstreams: seen } : {}) });
  });
  app.get("/metrics", async (_req, res) => {
    res.locals.route = "health";
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  return app;
}

const LIBRARY_ERRORS: Record<string, [code: string, message: string]> = {
  "entity.too.large": ["payload_too_large", "the request body is too large"],
  "entity.parse.failed": ["invalid_json", "the request body is not valid JSON"],
  "encoding.unsupported": ["unsupported_encoding", "the request body's charset is not supported"],
  // A body parser's `verify` hook refused the body: callSignature.ts `checkBody`.
  "entity.verify.failed": ["invalid_api_key", "the call is not signed by this stack"],
};

/** JSON 404 for unknown paths and a JSON body for every error; must be added last. */
export function finishApp(app: Express, logger: Logger): void {
  app.use((req, _res, next) => next(routeNotFound(req.method, req.path)));
  app.use(answerError(logger));
}

/** The last error handler: the API's JSON body for every error, and a log line for the odd ones. */
export function answerError(logger: Logger): ErrorRequestHandler {
  return (err, _req, res, _next) => {
    const requestId = res.locals.ctx?.requestId;
    if (err instanceof ApiError) {
      if (err.detail) logger.warn({ requestId, code: err.code, detail: err.detail }, err.message);
      res.status(err.status).json(err.body(requestId));
      return;
    }
    // express.json() and raw-body report bad bodies with a status and a type of their own, and
    // a message of the library's: the client gets a stable one, the log the library's.
    const status = typeof err?.status === "number" ? err.status : 500;
    if (status >= 400 && status < 500) {
      const [code, message] = LIBRARY_ERRORS[String(err.type)] ?? ["bad_request", "bad request"];
      logger.warn({ requestId, code, detail: String(err.message) }, message);
      const type = status === 401 ? "authentication_error" : "invalid_request_error";
      res.status(status).json(errorBody(message, type, code, null, requestId));
      return;
    }
    logger.error({ err, requestId }, "unhandled error");
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res
      .status(500)
      .json(errorBody("internal error", "api_error", "internal_error", null, requestId));
  };
}

/**
 * How long an idle client connection stays open. Longer than the AWS load balancer's idle timeout
 * (components/aws/routingAlb.ts), which must close a reused connection before the server does.
 */
export const keepAliveTimeoutMs = 65_000;

/**
 * How long a client may take to send its request headers, and its whole request (slowloris: a
 * client that trickles bytes holds a connection and its memory for as long as it is let). Node's
 * defaults are 60 s and 300 s; the request bound still lets the largest upload of the catalog
 * through at a few hundred KiB/s. HEADERS_TIMEOUT_MS and REQUEST_TIMEOUT_MS override them.
 */
export const headersTimeoutMs = 10_000;
export const requestTimeoutMs = 60_000;

export interface ClientTimeouts {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
}

/** The client time-outs of this process's environment, validated (a bad value names its variable). */
export function clientTimeouts(env: NodeJS.ProcessEnv = process.env): ClientTimeouts {
  const t = loadEnv(
    { headersTimeoutMs: fields.headersTimeoutMs, requestTimeoutMs: fields.requestTimeoutMs },
    { headersTimeoutMs: envKey.headersTimeoutMs, requestTimeoutMs: envKey.requestTimeoutMs },
    env,
  );
  const timeouts = {
    headersTimeoutMs: t.headersTimeoutMs ?? headersTimeoutMs,
    requestTimeoutMs: t.requestTimeoutMs ?? requestTimeoutMs,
  };
  if (timeouts.requestTimeoutMs < timeouts.headersTimeoutMs)
    throw new ConfigError([
      `${envKey.requestTimeoutMs}: must not be below ${envKey.headersTimeoutMs}`,
    ]);
  return timeouts;
}

/**
 * An HTTP server with this project's client bounds: the time-outs above, answered with the API's
 * JSON 408 (or 400 for what Node cannot parse) and the connection closed.
 */
export function createHttpServer(handler: RequestListener, timeouts: ClientTimeouts): Server {
  const server = createServer(
    {
      keepAliveTimeout: keepAliveTimeoutMs,
      headersTimeout: timeouts.headersTimeoutMs,
      requestTimeout: timeouts.requestTimeoutMs,
      // Node looks for late clients only this often (30 s by default), which would let a
      // 10 s bound hold a connection for up to 40 s.
      connectionsCheckingInterval: Math.min(1_000, timeouts.headersTimeoutMs),
    },
    handler,
  );
  server.on("clientError", answerMalformed);
  // Node answers `Expect: 100-continue` itself; any other expectation is unmet (RFC 9110
  // 10.1.1), and the 417 must be the API's JSON like every other refusal.
  server.on("checkExpectation", (req, res) => {
    const requestId = requestContext(req.headers).requestId;
    const body = JSON.stringify(
      errorBody(
        "only the 100-continue expectation is supported",
        "invalid_request_error",
        "expectation_failed",
        null,
        requestId,
      ),
    );
    res.writeHead(417, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
    });
    res.end(body);
  });
  return server;
}

/**
 * Listens on `port` and drains on SIGTERM/SIGINT, as Kubernetes' preStop pattern does: readiness
 * turns 503 and connections are closed after each answer, while the server still accepts for
 * DRAIN_DELAY_MS (long enough for the balancers' health checks to notice); then it stops
 * accepting, lets in-flight requests finish, and `onClose` releases the dependencies.
 */
export function serve(
  handler: RequestListener,
  port: number,
  logger: Logger,
  lifecycle: {
    startDraining: () => void;
    onClose: () => Promise<void>;
    drainMs?: number;
    /** What the OPS_PORT listener runs, when it differs from the public `handler`. */
    opsHandler?: RequestListener;
  },
): Promise<Server> {
  // Containers must listen on every interface; the local runner keeps everything on loopback.
  const host = process.env[envKey.host] || "0.0.0.0";
  const timeouts = clientTimeouts();
  const server = createHttpServer(handler, timeouts);
  const ops = opsServer(lifecycle.opsHandler ?? handler, host, logger, timeouts);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    const delay = Number(process.env[envKey.drainDelayMs] ?? 2_000);
    logger.info({ signal, delayMs: delay }, "draining");
    lifecycle.startDraining();
    setTimeout(() => {
      ops?.close();
      ops?.closeAllConnections();
      server.close(() => {
        lifecycle
          .onClose()
          .catch((err: unknown) => logger.error({ err }, "error while closing"))
          .finally(() => {
            logger.info("stopped");
            flushLogs();
            process.exit(0);
          });
      });
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), lifecycle.drainMs ?? 10_000).unref();
    }, delay);
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    // Several local router replicas share one port; the kernel spreads connections over them.
    server.listen({ port, host, reusePort: process.env[envKey.reusePort] === "1" }, () => {
      const address = server.address();
      const bound = typeof address === "object" ? address?.port : port;
      logger.info({ host, port: bound }, "listening");
      // A supervisor that started us over IPC (the local runner) learns the port this way.
      process.send?.({ type: "listening", port: bound });
      resolve(server);
    });
  });
}

/**
 * Node's own answer to a request its parser refuses (a control character in the target, a bad
 * header) is a bare 400 with no body; clients of this API expect its JSON error everywhere.
 */
function answerMalformed(err: Error & { code?: string; rawPacket?: Buffer }, socket: Duplex): void {
  if (!socket.writable) return void socket.destroy();
  const timedOut = err.code === "ERR_HTTP_REQUEST_TIMEOUT";
  // An answer to HEAD has no body, even when the request could not be parsed past its method.
  const head = err.rawPacket?.subarray(0, 5).toString("latin1") === "HEAD ";
  const body = JSON.stringify(
    timedOut
      ? errorBody("the request took too long to arrive", "invalid_request_error", "request_timeout")
      : errorBody("the request is not valid HTTP", "invalid_request_error", "malformed_request"),
  );
  socket.end(
    `HTTP/1.1 ${timedOut ? "408 Request Timeout" : "400 Bad Request"}\r\n` +
      `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `connection: close\r\n\r\n${head ? "" : body}`,
  );
}

const OPS_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

/**
 * The OPS_PORT listener, when set: the same handler, but only for health and metrics, so that a
 * replica sharing its main port with others (SO_REUSEPORT) can still be scraped by itself.
 */
function opsServer(
  handler: RequestListener,
  host: string,
  logger: Logger,
  timeouts: ClientTimeouts,
): Server | undefined {
  const port = process.env[envKey.opsPort];
  if (!port) return undefined;
  const ops = createHttpServer((req, res) => {
    if (OPS_PATHS.has((req.url ?? "").split("?")[0]!)) return handler(req, res);
    res
      .writeHead(404, { "content-type": "application/json" })
      .end(JSON.stringify(routeNotFound(req.method ?? "GET", req.url ?? "").body()));
  }, timeouts);
  ops.on("error", (err) => logger.error({ err, port }, "ops port failed"));
  ops.listen({ port: Number(port), host }, () => logger.info({ host, port }, "ops port listening"));
  return ops;
}
