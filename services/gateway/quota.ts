import express, { type Express, type RequestHandler, type Response } from "express";
import { Counter, type Registry } from "prom-client";
import type { Catalog } from "../../platform/catalog/schema.ts";
import { services } from "../../platform/catalog/topology.ts";
import { serviceWithRole } from "../../platform/catalog/topology.ts";
import { envKey } from "../../platform/runtimeEnv.ts";
import type { Cache } from "../shared/cache.ts";
import { checkBody } from "../shared/callSignature.ts";
import { ApiError } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import type { Principal } from "../shared/principal.ts";
import { ReplicaSet, sendToReplicas } from "../shared/upstream.ts";

// The quota step of the chain (DESIGN.md: auth -> QUOTA -> response cache), for the routes whose
// catalog entry sets `traffic.quota`. The tier that hosts the quota service asks it directly;
// the other tiers ask that tier's `/internal/quota/check` (QUOTA_URL, like AUTH_URL for keys).
//
// When the quota service cannot be reached, a caller's recent verdict stands in (the identity
// tier's fallback is "cached answers", as for API keys): a refused caller stays refused, and an
// allowed one may spend, at most, the requests that were left at the last check, counted down
// in the tier's Redis. A caller with no recent verdict gets a 503 with Retry-After. See
// docs/quota-flow.md for why.

/** How long a verdict may stand in for the quota service while it cannot be reached. */
export const QUOTA_VERDICT_STALE_SECONDS = 300;
/** What a caller with no usable verdict is told to wait during an outage. */
const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;
const UNAVAILABLE_CODE = "quota_unavailable";

/** What the quota service (or the tier in front of it) answered. */
export interface QuotaAnswer {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: { text(): Promise<string> };
}

/** Sends one request to quota; a throw (no replica, time-out) or a 5xx means "unreachable". */
export type QuotaCall = (req: {
  path: string;
  headers: Record<string, string>;
  body: Buffer;
  /** A check consumes quota, so it is sent again only when it never left (not retryable). */
  retryable: boolean;
}) => Promise<QuotaAnswer>;

/** A `QuotaCall` straight to a replica set (the quota service's, or the hosting tier's). */
export function replicaSetQuotaCall(set: ReplicaSet): QuotaCall {
  return (req) => sendToReplicas(set, { method: "POST", ...req });
}

export function quotaMetrics(registry: Registry) {
  return {
    checks: new Counter({
      name: "gateway_quota_checks_total",
      help: "Quota checks made by the quota step, by route",
      labelNames: ["route"] as const,
      registers: [registry],
    }),
    refusals: new Counter({
      name: "gateway_quota_refusals_total",
      help: "Requests the quota step refused, by reason (quota_exceeded, insufficient_balance)",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    unreachable: new Counter({
      name: "gateway_quota_unreachable_total",
      help: "Checks the quota service could not answer, by what the step did (stale-verdict, refused)",
      labelNames: ["outcome"] as const,
      registers: [registry],
    }),
  };
}

type QuotaMetrics = ReturnType<typeof quotaMetrics>;

/** A caller's last verdict, kept in the tier's Redis for outages. */
type Verdict =
  | {
      allowed: true;
      checkedAt: number;
      tokensLeft: number;
      resetAt: number;
      /** The plan's allowed models ([] = all); absent in verdicts kept before it was recorded. */
      models?: string[];
    }
  | { allowed: false; checkedAt: number; status: number; body: string; until: number };

interface Balance {
  remaining: number;
  resetAt: string;
}

export interface QuotaStepArgs {
  call: QuotaCall;
  /** The tier's shared store (Redis in a deployment): recent verdicts, for outages. */
  cache: Cache;
  logger: Logger;
  metrics: QuotaMetrics;
  /** Default `QUOTA_VERDICT_STALE_SECONDS`. */
  staleSeconds?: number;
  /** Milliseconds since the epoch; tests move it. */
  now?: () => number;
}

/** The quota error the service gave (402 or 429), answered as is with its Retry-After. */
class QuotaRefusal extends Error {
  readonly status: number;
  readonly body: string;
  readonly retryAfter: number | undefined;
  constructor(status: number, body: string, retryAfter: number | undefined) {
    super(`quota refused (${status})`);
    this.status = status;
    this.body = body;
    this.retryAfter = retryAfter;
  }
}

function retryAfterOf(value: string | string[] | undefined): number | undefined {
  const n = Number(Array.isArray(value) ? value[0] : value);
  return Number.isFinite(n) && n >= 0 ? Math.ceil(n) : undefined;
}

function reasonOf(body: string): string {
  try {
    return (JSON.parse(body) as { error: { code: string } }).error.code;
  } catch {
    return "unknown";
  }
}

/**
 * Checks a caller's quota: resolves when the request may go on, throws a `QuotaRefusal` (402 or
 * 429 from the quota service, or its recent verdict), or an ApiError 503 when quota cannot be
 * reached and no recent verdict stands in.
 */
export function createQuotaChecker(args: QuotaStepArgs) {
  const now = args.now ?? Date.now;
  const staleMs = (args.staleSeconds ?? QUOTA_VERDICT_STALE_SECONDS) * 1000;
  const ttl = Math.ceil(staleMs / 1000);
  const keyOf = (userId: string) => `quota:verdict:v1:${userId}`;
  const leftKeyOf = (userId: string) => `quota:left:v1:${userId}`;

  async function remembered(userId: string): Promise<Verdict | undefined> {
    const text = await args.cache.get(keyOf(userId)).catch(() => undefined);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as Verdict;
    } catch {
      return undefined;
    }
  }

  async function remember(userId: string, verdict: Verdict): Promise<void> {
    await args.cache
      .set(keyOf(userId), JSON.stringify(verdict), ttl)
      .catch((err: unknown) => args.logger.warn({ err }, "quota verdict cache write failed"));
  }

  /** The service's answer, or undefined when it cannot give one now. */
  async function ask(principal: Principal, requestId: string): Promise<QuotaAnswer | undefined> {
    try {
      const answer = await args.call({
        path: "/internal/quota/check",
        headers: { "content-type": "application/json", "x-request-id": requestId },
        body: Buffer.from(
          JSON.stringify({ userId: principal.userId, plan: principal.plan, requests: 1 }),
        ),
        retryable: false,
      });
      if (answer.statusCode >= 500) {
        await answer.body.text().catch(() => undefined);
        args.logger.warn({ status: answer.statusCode, requestId }, "quota service failed");
        return undefined;
      }
      return answer;
    } catch (err) {
      args.logger.warn({ err, requestId }, "quota service unreachable");
      return undefined;
    }
  }

  /**
   * During an outage: true when a recent verdict lets the request go on, a `QuotaRefusal` thrown
   * when it refuses it, false when none stands in.
   */
  async function fromVerdict(
    principal: Principal,
    requestId: string,
  ): Promise<{ models: string[] } | false> {
    const verdict = await remembered(principal.userId);
    const t = now();
    if (!verdict || t - verdict.checkedAt >= staleMs) return false;
    if (!verdict.allowed) {
      if (t >= verdict.until) return false;
      args.metrics.unreachable.inc({ outcome: "stale-verdict" });
      throw new QuotaRefusal(verdict.status, verdict.body, Math.ceil((verdict.until - t) / 1000));
    }
    if (t >= verdict.resetAt || verdict.tokensLeft <= 0) return false;
    // The requests the last check left, counted down in one atomic step in the tier's store, so
    // that all its replicas together let through no more than that.
    const taken = await args.cache.takeOne(leftKeyOf(principal.userId)).catch(() => false);
    if (!taken) return false;
    args.metrics.unreachable.inc({ outcome: "stale-verdict" });
    args.logger.warn(
      { requestId, userId: principal.userId },
      "quota unreachable: serving a recent verdict",
    );
    return { models: verdict.models ?? [] };
  }

  return {
    /** Resolves with the models the caller's plan allows ([] = all) when the request may go on. */
    async check(principal: Principal, requestId: string): Promise<{ models: string[] }> {
      const answer = await ask(principal, requestId);
      if (!answer) {
        const stale = await fromVerdict(principal, requestId);
        if (stale) return stale;
        args.metrics.unreachable.inc({ outcome: "refused" });
        throw new ApiError(
          503,
          "service_unavailable",
          UNAVAILABLE_CODE,
          "cannot check the quota now, retry later",
        );
      }
      const text = await answer.body.text();
      const t = now();
      if (answer.statusCode === 200) {
        const { requests, tokens, models } = JSON.parse(text) as {
          requests: Balance;
          tokens: Balance;
          models?: string[];
        };
        await Promise.all([
          remember(principal.userId, {
            allowed: true,
            checkedAt: t,
            tokensLeft: tokens.remaining,
            resetAt: Math.min(Date.parse(requests.resetAt), Date.parse(tokens.resetAt)),
            models: models ?? [],
          }),
          args.cache
            .set(leftKeyOf(principal.userId), String(requests.remaining), ttl)
            .catch((err: unknown) => args.logger.warn({ err }, "quota count cache write failed")),
        ]);
        return { models: models ?? [] };
      }
      if (answer.statusCode === 402 || answer.statusCode === 429) {
        const retryAfter = retryAfterOf(answer.headers["retry-after"]);
        await remember(principal.userId, {
          allowed: false,
          checkedAt: t,
          status: answer.statusCode,
          body: text,
          until: retryAfter === undefined ? t + staleMs : t + retryAfter * 1000,
        });
        throw new QuotaRefusal(answer.statusCode, text, retryAfter);
      }
      // A 4xx here is the gateway's own mistake (a malformed check): never the caller's fault.
      args.logger.error(
        { status: answer.statusCode, body: text, requestId },
        "quota check refused",
      );
      throw new ApiError(500, "api_error", "internal_error", "the quota check failed");
    },
  };
}

export type QuotaChecker = ReturnType<typeof createQuotaChecker>;

function sendRefusal(res: Response, refusal: QuotaRefusal): void {
  res.status(refusal.status);
  res.setHeader("content-type", "application/json");
  if (refusal.retryAfter !== undefined) res.setHeader("retry-after", String(refusal.retryAfter));
  // The quota resets at the period's end, far beyond an SDK's retries: they would only wait.
  res.setHeader("x-should-retry", "false");
  res.end(refusal.body);
}

/**
 * The chain's step: for a route whose catalog entry sets `traffic.quota`, each request that is
 * not a read consumes one request of the caller's quota first (listing models costs nothing).
 */
export function requireQuota(checker: QuotaChecker, metrics: QuotaMetrics): RequestHandler {
  return async (req, res, next) => {
    const target = res.locals.target!;
    if (!target.spec.traffic.quota || req.method === "GET" || req.method === "HEAD") return next();
    metrics.checks.inc({ route: target.route });
    try {
      const principal = res.locals.principal!;
      const { models } = await checker.check(principal, res.locals.ctx.requestId);
      // The service enforces the plan's models (chat refuses others): it learns them here.
      if (models.length > 0) res.locals.principal = { ...principal, models };
      next();
    } catch (err) {
      if (!(err instanceof QuotaRefusal)) {
        if (err instanceof ApiError && err.code === UNAVAILABLE_CODE)
          res.setHeader("retry-after", String(UNAVAILABLE_RETRY_AFTER_SECONDS));
        return next(err);
      }
      const reason = reasonOf(err.body);
      metrics.refusals.inc({ reason });
      res.locals.decision = `quota:${reason}`;
      sendRefusal(res, err);
    }
  };
}

/**
 * The hosting tier's `/internal/quota/*`: the other tiers' checks and chat's usage reports, passed
 * to the quota service as they are. Only callers inside reach it: the router and the ALB route
 * `/v1` alone, the network rules admit only the other tiers and the services that list quota in
 * `tierCalls`, and the gateway answers `/internal/*` only to calls signed by this stack.
 */
export function mountInternalQuota(app: Express, call: QuotaCall, logger: Logger): void {
  for (const op of ["check", "usage"] as const) {
    const path = `/internal/quota/${op}`;
    app.post(
      path,
      express.raw({ type: () => true, limit: "16kb", verify: checkBody }),
      async (req, res) => {
        res.locals.route = path;
        let answer: QuotaAnswer;
        try {
          answer = await call({
            path,
            headers: {
              "content-type": "application/json",
              "x-request-id": res.locals.ctx.requestId,
            },
            body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
            // A usage report carries its own id and is counted once; a check consumes quota.
            retryable: op === "usage",
          });
        } catch (err) {
          logger.warn({ err, requestId: res.locals.ctx.requestId }, "quota service unreachable");
          throw new ApiError(
            503,
            "service_unavailable",
            UNAVAILABLE_CODE,
            "the quota service is unavailable, retry later",
          );
        }
        const text = await answer.body.text();
        res.status(answer.statusCode);
        res.setHeader("content-type", "application/json");
        const retryAfter = retryAfterOf(answer.headers["retry-after"]);
        if (retryAfter !== undefined) res.setHeader("retry-after", String(retryAfter));
        res.end(text);
      },
    );
  }
}

export interface QuotaStepOptions {
  /** Signs the calls to quota (callSignature.ts). */
  principalSecret: string;
  catalog: Catalog;
  domain: string;
  /** QUOTA_URL: the quota service's replicas on the tier that hosts it, else that tier's. */
  urls: string[] | undefined;
  cache: Cache;
  logger: Logger;
  registry: Registry;
  healthIntervalMs: number;
}

/**
 * The quota step as one tier needs it: the chain's handler (none when no route of the tier turns
 * quota on), the internal endpoints (on the tier that hosts quota), and what to close.
 */
export function createQuotaStep(opts: QuotaStepOptions): {
  step: RequestHandler | undefined;
  mount: (app: Express) => void;
  healthy: () => boolean | undefined;
  close: () => Promise<void>;
} {
  const hosts = serviceWithRole(opts.catalog, "quota")?.domain === opts.domain;
  const needed = services(opts.catalog).some(
    (s) => s.domain === opts.domain && s.traffic.quota && s.routes.length > 0,
  );
  if (!opts.urls?.length) {
    if (needed || hosts)
      throw new Error(
        `gateway: ${envKey.quotaUrl} is needed (a route of ${opts.domain} has quota)`,
      );
    return {
      step: undefined,
      mount: () => undefined,
      healthy: () => undefined,
      close: async () => {},
    };
  }
  const set = new ReplicaSet("quota", opts.urls, {
    healthIntervalMs: opts.healthIntervalMs,
    signWith: opts.principalSecret,
  });
  const call = replicaSetQuotaCall(set);
  const metrics = quotaMetrics(opts.registry);
  return {
    step: needed
      ? requireQuota(
          createQuotaChecker({ call, cache: opts.cache, logger: opts.logger, metrics }),
          metrics,
        )
      : undefined,
    mount: (app) => {
      if (hosts) mountInternalQuota(app, call, opts.logger);
    },
    healthy: () => set.healthyCount() > 0,
    close: () => set.close(),
  };
}
