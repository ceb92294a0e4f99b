import type { Request, RequestHandler, Response } from "express";
import type { Redis } from "ioredis";
import { Counter, Gauge, type Registry } from "prom-client";
import type { Catalog } from "../../platform/catalog/schema.ts";
import { routingRules } from "../../platform/catalog/topology.ts";
import { ApiError } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import { callerKey } from "./auth.ts";

// Rate limiting with GCRA (the generic cell rate algorithm). Each limited thing keeps one number,
// its theoretical arrival time (TAT): when the next request would be due if requests came exactly
// at the allowed rate. A request is allowed when, after adding one emission interval to the TAT,
// the TAT is no further ahead of now than the burst tolerance (`limit` intervals). Unlike a fixed
// window there is no edge at which a second full window opens: over any span of time at most
// `limit` requests plus the span's share of the rate get through.
//
// All replicas of a tier share the state in Redis, updated by one Lua script per request, so the
// count is exact across replicas; the script reads Redis's clock, so replicas' clocks may differ.
// When Redis cannot answer, an in-process limiter with the same arithmetic takes over.

/** `limit` requests per `windowSeconds`, in bursts of up to `limit`. */
export interface Rate {
  limit: number;
  windowSeconds: number;
}

/** The limits of one route group (a service's route prefix, as in the catalog). */
export interface RouteLimits {
  route: string;
  perKey: Rate;
  perIp: Rate;
}

export type Scope = "key" | "ip";
export type Backend = "redis" | "local";

export interface RateLimitArgs {
  /** Shared state for every replica; without it (or while it fails) each replica limits alone. */
  redis?: Redis;
  /** Namespace of the Redis keys, e.g. the tier's name. */
  prefix: string;
  /** The limits of a route group (the route the gateway resolved), or undefined if unlimited. */
  limitsFor: (route: string) => RouteLimits | undefined;
  registry: Registry;
  logger: Logger;
  /** The caller's address. Default `req.ip` (set express's `trust proxy` behind the router). */
  clientIp?: (req: Request) => string;
  /**
   * Replicas of the tier: while Redis is down each replica allows `limit / replicas`, so that the
   * tier as a whole stays near the limit. Default 1.
   */
  replicas?: number;
  /** After a Redis failure, how long to use the local limiter before trying Redis again. Default 1 s. */
  redisRetryMs?: number;
  /** Milliseconds since the epoch, for the local limiter and the Redis retry; tests move it. */
  now?: () => number;
  /** Most limited things the local limiter remembers. Default 100 000. */
  localMaxEntries?: number;
}

/** One limited thing in one check: its storage key and its rate. */
interface Cell {
  scope: Scope;
  key: string;
  intervalUs: number;
  toleranceUs: number;
  limit: number;
}

/** What a check decided, for the answer's headers. */
export interface Decision {
  allowed: boolean;
  backend: Backend;
  /** The scope whose numbers the headers carry: the one closest to (or over) its limit. */
  scope: Scope;
  limit: number;
  remaining: number;
  /** Seconds until the scope's allowance is whole again. */
  resetSeconds: number;
  /** Seconds to wait before a retry can pass; 0 when allowed. */
  retryAfterSeconds: number;
}

/**
 * Emission interval and burst tolerance in whole microseconds. The tolerance is `limit` intervals
 * (not the window) so that, with the interval rounded, a full burst is still exactly `limit`.
 */
function cell(scope: Scope, key: string, rate: Rate): Cell {
  const intervalUs = Math.max(1, Math.round((rate.windowSeconds * 1e6) / rate.limit));
  return { scope, key, intervalUs, toleranceUs: intervalUs * rate.limit, limit: rate.limit };
}

/** The cells of one check: the key's first, when the caller sent one, then the address's. */
function cellsOf(key: CellRate, ip: CellRate, keyKey: string | undefined, ipKey: string): Cell[] {
  const { intervalUs, toleranceUs, limit } = ip;
  const ipCell: Cell = { scope: "ip", key: ipKey, intervalUs, toleranceUs, limit };
  if (!keyKey) return [ipCell];
  return [
    {
      scope: "key",
      key: keyKey,
      intervalUs: key.intervalUs,
      toleranceUs: key.toleranceUs,
      limit: key.limit,
    },
    ipCell,
  ];
}

/**
 * How far ahead of now each cell's TAT is (µs) after the check, and whether the request passed.
 * A request consumes every cell or none: a rejected one does not count against the other scope.
 */
export function gcra(
  cells: readonly { intervalUs: number; toleranceUs: number }[],
  tats: readonly number[],
  nowUs: number,
): { allowed: boolean; ahead: number[] } {
  const ahead = cells.map((_, i) => Math.max(tats[i] ?? 0, nowUs) - nowUs);
  const allowed = cells.every((c, i) => ahead[i]! + c.intervalUs <= c.toleranceUs);
  return { allowed, ahead: allowed ? ahead.map((a, i) => a + cells[i]!.intervalUs) : ahead };
}

// The same arithmetic as `gcra`, against Redis's clock. ARGV holds each key's interval and
// tolerance (µs). TATs are stored as whole microseconds, formatted so no digit is lost.
const GCRA_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local ahead = {}
local allowed = 1
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2 * i - 1])
  local tolerance = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tat < now then tat = now end
  ahead[i] = tat - now
  if ahead[i] + interval > tolerance then allowed = 0 end
end
if allowed == 1 then
  for i = 1, #KEYS do
    ahead[i] = ahead[i] + tonumber(ARGV[2 * i - 1])
    redis.call('SET', KEYS[i], string.format('%.0f', now + ahead[i]),
      'PX', string.format('%.0f', math.ceil(ahead[i] / 1000)))
  end
end
local out = { allowed }
for i = 1, #KEYS do out[i + 1] = ahead[i] end
return out
`;

type GcraCommand = (numKeys: number, ...args: (string | number)[]) => Promise<number[]>;

/** The in-process limiter: TATs in a map, oldest forgotten first when it is full. */
class LocalCells {
  private readonly tats = new Map<string, number>();
  private readonly maxEntries: number;

  constructor(maxEntries: number) {
    this.maxEntries = maxEntries;
  }

  check(cells: readonly Cell[], nowUs: number): { allowed: boolean; ahead: number[] } {
    const result = gcra(
      cells,
      cells.map((c) => this.tats.get(c.key) ?? 0),
      nowUs,
    );
    if (!result.allowed) return result;
    cells.forEach((c, i) => {
      // Re-inserting moves the key to the end of the map's order: the first key is the stalest.
      this.tats.delete(c.key);
      this.tats.set(c.key, nowUs + result.ahead[i]!);
    });
    while (this.tats.size > this.maxEntries) {
      const oldest = this.tats.keys().next().value;
      if (oldest === undefined) break;
      this.tats.delete(oldest);
    }
    return result;
  }
}

/** A route's limits as every check of it needs them, worked out once (`RateLimiter.prepared`). */
interface PreparedRoute {
  /** The prefix of its storage keys. */
  base: string;
  key: CellRate;
  ip: CellRate;
  /** The same while Redis is down: each replica's share of the limit. */
  localKey: CellRate;
  localIp: CellRate;
}

type CellRate = Omit<Cell, "scope" | "key">;

function cellRate(rate: Rate): CellRate {
  const { intervalUs, toleranceUs, limit } = cell("key", "", rate);
  return { intervalUs, toleranceUs, limit };
}

/** Decides requests against the shared (Redis) or local state; the handler below answers them. */
export class RateLimiter {
  private readonly args: RateLimitArgs;
  private readonly local: LocalCells;
  private readonly now: () => number;
  private redisDownUntil = 0;
  private backend: Backend | undefined;
  private readonly decisions: Counter<"backend">;
  private readonly backendGauge: Gauge<"backend">;
  readonly rejections: Counter<"route" | "scope">;

  constructor(args: RateLimitArgs) {
    this.args = args;
    this.now = args.now ?? Date.now;
    this.local = new LocalCells(args.localMaxEntries ?? 100_000);
    args.redis?.defineCommand("gatewayGcra", { lua: GCRA_SCRIPT });
    this.decisions = new Counter({
      name: "gateway_ratelimit_backend_decisions_total",
      help: "Rate-limit decisions, by the backend that took them (local: Redis unavailable)",
      labelNames: ["backend"] as const,
      registers: [args.registry],
    });
    this.backendGauge = new Gauge({
      name: "gateway_ratelimit_backend",
      help: "1 for the backend the rate limiter uses now (redis: shared by replicas; local: this replica alone)",
      labelNames: ["backend"] as const,
      registers: [args.registry],
    });
    this.rejections = new Counter({
      name: "gateway_ratelimit_rejections_total",
      help: "Requests refused by the rate limiter, by route group and by the scope that refused",
      labelNames: ["route", "scope"] as const,
      registers: [args.registry],
    });
  }

  /**
   * Checks (and, if allowed, counts) one request against its per-key and per-IP limits; the key
   * is its hash (auth.ts `keyHash`), so that no raw key is stored. Without Redis the local
   * limiter decides at once, with no promise per request.
   */
  check(
    limits: RouteLimits,
    keyHash: string | undefined,
    ip: string,
  ): Decision | Promise<Decision> {
    const route = this.prepared(limits);
    const ipKey = `${route.base}:ip:${ip}`;
    const keyKey = keyHash ? `${route.base}:key:${keyHash}` : undefined;
    if (this.redisUsable()) return this.checkShared(limits.route, route, keyKey, ipKey);
    return this.checkLocal(limits.route, route, keyKey, ipKey);
  }

  /** Each route's rates in intervals and tolerances, and its key prefix: once, not per request. */
  private readonly routes = new WeakMap<RouteLimits, PreparedRoute>();

  private prepared(limits: RouteLimits): PreparedRoute {
    let route = this.routes.get(limits);
    if (!route) {
      const share = Math.max(1, this.args.replicas ?? 1);
      const local = (rate: Rate) =>
        cellRate({ ...rate, limit: Math.max(1, Math.floor(rate.limit / share)) });
      route = {
        base: `${this.args.prefix}:rl:${limits.route}`,
        key: cellRate(limits.perKey),
        ip: cellRate(limits.perIp),
        localKey: local(limits.perKey),
        localIp: local(limits.perIp),
      };
      this.routes.set(limits, route);
    }
    return route;
  }

  private async checkShared(
    routeName: string,
    route: PreparedRoute,
    keyKey: string | undefined,
    ipKey: string,
  ): Promise<Decision> {
    const cells = cellsOf(route.key, route.ip, keyKey, ipKey);
    const result = await this.checkRedis(cells);
    if (result) return this.decide(routeName, cells, result, "redis");
    return this.checkLocal(routeName, route, keyKey, ipKey);
  }

  private checkLocal(
    routeName: string,
    route: PreparedRoute,
    keyKey: string | undefined,
    ipKey: string,
  ): Decision {
    const cells = cellsOf(route.localKey, route.localIp, keyKey, ipKey);
    return this.decide(routeName, cells, this.local.check(cells, this.now() * 1000), "local");
  }

  private redisUsable(): boolean {
    const redis = this.args.redis;
    return !!redis && redis.status === "ready" && this.now() >= this.redisDownUntil;
  }

  private async checkRedis(
    cells: readonly Cell[],
  ): Promise<{ allowed: boolean; ahead: number[] } | undefined> {
    const command = (this.args.redis as unknown as { gatewayGcra: GcraCommand }).gatewayGcra;
    try {
      const reply = await command.call(
        this.args.redis,
        cells.length,
        ...cells.map((c) => c.key),
        ...cells.flatMap((c) => [c.intervalUs, c.toleranceUs]),
      );
      return { allowed: reply[0] === 1, ahead: reply.slice(1).map(Number) };
    } catch (err) {
      this.redisDownUntil = this.now() + (this.args.redisRetryMs ?? 1_000);
      this.args.logger.warn({ err }, "rate limiter: Redis unavailable, limiting locally");
      return undefined;
    }
  }

  private decide(
    route: string,
    cells: readonly Cell[],
    result: { allowed: boolean; ahead: number[] },
    backend: Backend,
  ): Decision {
    this.decisions.inc({ backend });
    if (backend !== this.backend) {
      if (this.backend) {
        const log = backend === "local" ? this.args.logger.warn : this.args.logger.info;
        log.call(this.args.logger, { backend }, "rate limiter backend changed");
      }
      this.backendGauge.set({ backend }, 1);
      this.backendGauge.set({ backend: backend === "redis" ? "local" : "redis" }, 0);
      this.backend = backend;
    }
    const scopes = cells.map((c, i) => {
      const ahead = result.ahead[i]!;
      return {
        cell: c,
        ahead,
        remaining: Math.max(0, Math.floor((c.toleranceUs - ahead) / c.intervalUs)),
        waitUs: Math.max(0, ahead + c.intervalUs - c.toleranceUs),
      };
    });
    // A refusal reports the scope that makes the caller wait longest; a pass, the one nearest its limit.
    const binding = scopes.reduce((a, b) =>
      result.allowed ? (b.remaining < a.remaining ? b : a) : b.waitUs > a.waitUs ? b : a,
    );
    if (!result.allowed) this.rejections.inc({ route, scope: binding.cell.scope });
    return {
      allowed: result.allowed,
      backend,
      scope: binding.cell.scope,
      limit: binding.cell.limit,
      remaining: binding.remaining,
      resetSeconds: Math.ceil(binding.ahead / 1e6),
      retryAfterSeconds: result.allowed ? 0 : Math.max(1, Math.ceil(binding.waitUs / 1e6)),
    };
  }
}

/**
 * The rate-limit step of the gateway chain: every limited answer carries `x-ratelimit-limit`,
 * `x-ratelimit-remaining` and `x-ratelimit-reset` (seconds); a refused request gets a 429 with
 * `Retry-After`. It never fails a request for its own sake: without Redis it limits locally.
 */
export function rateLimit(args: RateLimitArgs): RequestHandler {
  const limiter = new RateLimiter(args);
  const clientIp = args.clientIp ?? ((req: Request) => req.ip ?? req.socket.remoteAddress ?? "");
  return (req, res, next) => {
    // The route the gateway resolved for this request, never a second reading of its URL.
    const route = res.locals.target?.route;
    const limits = route === undefined ? undefined : args.limitsFor(route);
    if (!limits) return next();
    const decision = limiter.check(limits, callerKey(req, res)?.hash, clientIp(req));
    if (decision instanceof Promise) decision.then((d) => answer(res, limits, d, next), next);
    else answer(res, limits, decision, next);
  };
}

function answer(
  res: Response,
  limits: RouteLimits,
  decision: Decision,
  next: (err?: unknown) => void,
): void {
  res.setHeader("x-ratelimit-limit", String(decision.limit));
  res.setHeader("x-ratelimit-remaining", String(decision.remaining));
  res.setHeader("x-ratelimit-reset", String(decision.resetSeconds));
  if (decision.allowed) return next();
  res.locals.route = limits.route;
  res.locals.decision = `rate-limited:${decision.scope}:${decision.backend}`;
  res.setHeader("retry-after", String(decision.retryAfterSeconds));
  next(
    new ApiError(
      429,
      "rate_limit_error",
      "rate_limit_exceeded",
      `rate limit exceeded for this ${decision.scope === "key" ? "API key" : "client address"} on ${limits.route}: ${decision.limit} requests per window, retry in ${decision.retryAfterSeconds} s`,
    ),
  );
}

/** `limitsFor` from the catalog: a route group's limits are those of the service owning it. */
export function catalogLimits(
  catalog: Catalog,
  domain: string,
): (route: string) => RouteLimits | undefined {
  // Built once: a lookup per request, not a search and a new object.
  const limits = new Map(
    routingRules(catalog)
      .filter((r) => r.domain === domain)
      .map((rule) => {
        const { perKey, perIp } = catalog.services[rule.service]!.traffic.rateLimit;
        return [rule.prefix, { route: rule.prefix, perKey, perIp }] as const;
      }),
  );
  return (route) => limits.get(route);
}
