import { once } from "node:events";
import type { Server } from "node:http";
import { createServer as createTcpServer, type AddressInfo } from "node:net";
import express from "express";
import { Redis } from "ioredis";
import { pino } from "pino";
import { Registry } from "prom-client";
import { catalog } from "../../platform/catalog/index.ts";
import { requireEnv } from "../../test/support/kafka.ts";
import { redisClient } from "../shared/redisCache.ts";
import { finishApp } from "../shared/http.ts";
import {
  catalogLimits,
  rateLimit,
  RateLimiter,
  type RateLimitArgs,
  type RouteLimits,
} from "./rateLimit.ts";

const logger = pino({ level: "silent" });
const KEY = "sk-test_rate_limit_key_0123456789";

/** One gateway replica reduced to the rate-limit step in front of a 200 answer. */
async function replica(
  args: Omit<RateLimitArgs, "registry" | "logger" | "clientIp">,
): Promise<{ url: string; registry: Registry; close: () => Promise<void> }> {
  const registry = new Registry();
  const app = express();
  app.use((_req, res, next) => {
    res.locals.ctx = { requestId: "req-1", traceId: "t", spanId: "s", traceparent: "p" };
    // What the gateway's route step leaves for the steps after it.
    res.locals.target = { route: "/v1/things" } as typeof res.locals.target;
    next();
  });
  app.use(
    rateLimit({
      ...args,
      registry,
      logger,
      // Every test client is 127.0.0.1: a test header stands in for distinct addresses.
      clientIp: (req) => String(req.headers["x-test-ip"] ?? req.ip),
    }),
  );
  app.get("/v1/things", (_req, res) => res.json({ ok: true }));
  finishApp(app, logger);
  const server: Server = app.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/things`,
    registry,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const limits = (perKey: RouteLimits["perKey"], perIp: RouteLimits["perIp"]) => (): RouteLimits => ({
  route: "/v1/things",
  perKey,
  perIp,
});

async function ready(redis: Redis): Promise<void> {
  if (redis.status !== "ready") await once(redis, "ready");
}

async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const values = (await metric.get()).values;
  return values
    .filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
    .reduce((sum, v) => sum + v.value, 0);
}

function get(url: string, headers: Record<string, string> = {}) {
  return fetch(url, { headers: { authorization: `Bearer ${KEY}`, ...headers } });
}

describe("rate limit shared by two gateway replicas in one Redis (real server)", () => {
  const prefix = `rl-test-${process.pid}-${Date.now()}`;
  const clients: Redis[] = [];
  afterAll(() => clients.forEach((c) => c.disconnect()));

  async function sharedRedis(): Promise<Redis> {
    // A generous time-out: the burst below loads the event loop, and this test is about the count.
    const redis = redisClient(requireEnv("TEST_REDIS_URL"), { commandTimeoutMs: 5_000 });
    clients.push(redis);
    await ready(redis);
    return redis;
  }

  test("a concurrent burst across both replicas lets exactly the limit through", async () => {
    const limitsFor = limits(
      { limit: 200, windowSeconds: 3_600 },
      { limit: 1_000_000, windowSeconds: 3_600 },
    );
    const a = await replica({ redis: await sharedRedis(), prefix: `${prefix}-burst`, limitsFor });
    const b = await replica({ redis: await sharedRedis(), prefix: `${prefix}-burst`, limitsFor });
    try {
      const answers = await Promise.all(
        Array.from({ length: 600 }, (_, i) => get(i % 2 ? a.url : b.url)),
      );
      const statuses = answers.map((r) => r.status);
      const allowed = statuses.filter((s) => s === 200).length;
      expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
      // GCRA with a 18 s interval: the burst is over long before the next request is due.
      expect(allowed).toBe(200);
      // Both replicas answered some of each, so the count really is shared.
      const allowedBy = (url: string) =>
        answers.filter((r, i) => r.status === 200 && (i % 2 ? a.url : b.url) === url).length;
      expect(allowedBy(a.url)).toBeGreaterThan(0);
      expect(allowedBy(b.url)).toBeGreaterThan(0);
      for (const r of answers) {
        expect(r.headers.get("x-ratelimit-limit")).toBe("200");
        expect(r.headers.get("x-ratelimit-remaining")).toMatch(/^\d+$/);
        expect(r.headers.get("x-ratelimit-reset")).toMatch(/^\d+$/);
      }
      const refused = answers.find((r) => r.status === 429)!;
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(await refused.json()).toEqual({
        error: {
          message: expect.stringContaining("rate limit exceeded"),
          type: "rate_limit_error",
          code: "rate_limit_exceeded",
          param: null,
          request_id: "req-1",
        },
      });
      await Promise.all(answers.map((r) => (r.bodyUsed ? undefined : r.body?.cancel())));
      const decisions = async (backend: string) =>
        (await metricValue(a.registry, "gateway_ratelimit_backend_decisions_total", { backend })) +
        (await metricValue(b.registry, "gateway_ratelimit_backend_decisions_total", { backend }));
      expect(await decisions("redis")).toBe(600);
      expect(await decisions("local")).toBe(0);
      const rejections =
        (await metricValue(a.registry, "gateway_ratelimit_rejections_total", { scope: "key" })) +
        (await metricValue(b.registry, "gateway_ratelimit_rejections_total", { scope: "key" }));
      expect(rejections).toBe(400);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test("a request refused by one scope consumes neither", async () => {
    const limitsFor = limits(
      { limit: 2, windowSeconds: 3_600 },
      { limit: 3, windowSeconds: 3_600 },
    );
    const a = await replica({ redis: await sharedRedis(), prefix: `${prefix}-scopes`, limitsFor });
    try {
      const ip = { "x-test-ip": "192.0.2.1" };
      expect((await get(a.url, ip)).status).toBe(200);
      expect((await get(a.url, ip)).status).toBe(200);
      const byKey = await get(a.url, ip);
      expect(byKey.status).toBe(429);
      expect(byKey.headers.get("x-ratelimit-limit")).toBe("2");
      // The refusal above did not use the address's third request.
      const other = { ...ip, authorization: "Bearer sk-test_other_key_012345678901234" };
      const third = await get(a.url, other);
      expect(third.status).toBe(200);
      expect(third.headers.get("x-ratelimit-remaining")).toBe("0");
      const byIp = await get(a.url, {
        ...ip,
        authorization: "Bearer sk-test_third_key_01234567890123",
      });
      expect(byIp.status).toBe(429);
      expect(byIp.headers.get("x-ratelimit-limit")).toBe("3");
      expect(
        await metricValue(a.registry, "gateway_ratelimit_rejections_total", { scope: "key" }),
      ).toBe(1);
      expect(
        await metricValue(a.registry, "gateway_ratelimit_rejections_total", { scope: "ip" }),
      ).toBe(1);
      // Another address is not affected by the first one's count.
      expect(
        (
          await get(a.url, {
            "x-test-ip": "192.0.2.2",
            authorization: "Bearer sk-test_fourth_key_0123456789012",
          })
        ).status,
      ).toBe(200);
    } finally {
      await a.close();
    }
  });

  test("the raw API key is not in Redis, only its hash", async () => {
    const redis = await sharedRedis();
    const limitsFor = limits({ limit: 5, windowSeconds: 60 }, { limit: 5, windowSeconds: 60 });
    const a = await replica({ redis, prefix: `${prefix}-hash`, limitsFor });
    try {
      expect((await get(a.url)).status).toBe(200);
      const keys = await redis.keys(`${prefix}-hash:*`);
      expect(keys).toHaveLength(2);
      expect(keys.join()).not.toContain(KEY);
      expect(keys.some((k) => /:key:[0-9a-f]{64}$/.test(k))).toBe(true);
    } finally {
      await a.close();
    }
  });
});

describe("rate limit without Redis", () => {
  test("an unreachable Redis falls back to a local limiter that still limits, and says so", async () => {
    const dead = redisClient("redis://127.0.0.1:1");
    const limitsFor = limits(
      { limit: 10, windowSeconds: 3_600 },
      { limit: 1_000, windowSeconds: 3_600 },
    );
    const a = await replica({ redis: dead, prefix: "dead", limitsFor });
    try {
      const answers = await Promise.all(Array.from({ length: 30 }, () => get(a.url)));
      const statuses = answers.map((r) => r.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(10);
      expect(statuses.filter((s) => s === 429)).toHaveLength(20);
      for (const r of answers) expect(r.headers.get("x-ratelimit-limit")).toBe("10");
      await Promise.all(answers.map((r) => (r.bodyUsed ? undefined : r.body?.cancel())));
      expect(
        await metricValue(a.registry, "gateway_ratelimit_backend_decisions_total", {
          backend: "local",
        }),
      ).toBe(30);
      expect(await metricValue(a.registry, "gateway_ratelimit_backend", { backend: "local" })).toBe(
        1,
      );
      expect(await metricValue(a.registry, "gateway_ratelimit_backend", { backend: "redis" })).toBe(
        0,
      );
    } finally {
      await a.close();
      dead.disconnect();
    }
  });

  test("a Redis that stops answering times out into the local limiter, with the tier's share", async () => {
    // A server that completes ioredis's connection handshake (it refuses HELLO and CLIENT, which
    // ioredis tolerates) and then never answers: a hung Redis, not a refused one.
    const hung = createTcpServer((socket) =>
      socket.on("data", (chunk: Buffer) => {
        for (const [, name] of chunk.toString().matchAll(/\r\n(hello|client)\r\n/gi))
          socket.write(`-ERR unknown command '${name}'\r\n`);
      }),
    );
    hung.listen(0, "127.0.0.1");
    await once(hung, "listening");
    const redis = new Redis((hung.address() as AddressInfo).port, "127.0.0.1", {
      enableReadyCheck: false,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 50,
    });
    redis.on("error", () => undefined);
    await ready(redis);
    const limitsFor = limits(
      { limit: 10, windowSeconds: 3_600 },
      { limit: 1_000, windowSeconds: 3_600 },
    );
    const a = await replica({ redis, prefix: "hung", limitsFor, replicas: 2 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) statuses.push((await get(a.url)).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
      expect(
        await metricValue(a.registry, "gateway_ratelimit_backend_decisions_total", {
          backend: "local",
        }),
      ).toBe(8);
    } finally {
      await a.close();
      redis.disconnect();
      hung.close();
    }
  });
});

describe("GCRA arithmetic (local limiter, moved clock)", () => {
  function limiter(now: () => number) {
    return new RateLimiter({
      prefix: "unit",
      limitsFor: () => undefined,
      registry: new Registry(),
      logger,
      now,
    });
  }
  const tenPerTen: RouteLimits = {
    route: "/v1/things",
    perKey: { limit: 10, windowSeconds: 10 },
    perIp: { limit: 1_000, windowSeconds: 10 },
  };
  async function allowedAt(rl: RateLimiter, n: number): Promise<number> {
    let allowed = 0;
    for (let i = 0; i < n; i++) if ((await rl.check(tenPerTen, KEY, "ip")).allowed) allowed++;
    return allowed;
  }

  test("no second burst across a window edge, unlike a fixed window", async () => {
    let clock = 9_900;
    const rl = limiter(() => clock);
    expect(await allowedAt(rl, 20)).toBe(10);
    // A fixed window would open a fresh 10 here; GCRA only refills at the rate (1 per second).
    clock = 10_100;
    expect(await allowedAt(rl, 20)).toBe(0);
    clock = 10_900;
    expect(await allowedAt(rl, 20)).toBe(1);
    clock = 14_900;
    expect(await allowedAt(rl, 20)).toBe(4);
  });

  test("headers' numbers: remaining counts down, retry-after and reset are whole seconds", async () => {
    let clock = 0;
    const rl = limiter(() => clock);
    const first = await rl.check(tenPerTen, KEY, "ip");
    expect(first).toMatchObject({
      allowed: true,
      scope: "key",
      limit: 10,
      remaining: 9,
      resetSeconds: 1,
    });
    for (let i = 0; i < 9; i++) await rl.check(tenPerTen, KEY, "ip");
    const refused = await rl.check(tenPerTen, KEY, "ip");
    expect(refused).toMatchObject({
      allowed: false,
      remaining: 0,
      retryAfterSeconds: 1,
      resetSeconds: 10,
    });
    clock = 500;
    expect((await rl.check(tenPerTen, KEY, "ip")).retryAfterSeconds).toBe(1);
    clock = 1_000;
    expect(await rl.check(tenPerTen, KEY, "ip")).toMatchObject({ allowed: true, remaining: 0 });
  });

  test("a limit whose interval is not a whole number of microseconds still allows a full burst", async () => {
    const rl = limiter(() => 0);
    const sevenPerMinute: RouteLimits = { ...tenPerTen, perKey: { limit: 7, windowSeconds: 60 } };
    let allowed = 0;
    for (let i = 0; i < 10; i++) if ((await rl.check(sevenPerMinute, KEY, "ip")).allowed) allowed++;
    expect(allowed).toBe(7);
  });
});

describe("catalog limits", () => {
  test("a route group has its service's limits, on the tier that owns it only", () => {
    const limitsFor = catalogLimits(catalog, catalog.services["orders"]!.domain);
    expect(limitsFor("/v1/orders")).toEqual({
      route: "/v1/orders",
      ...catalog.services["orders"]!.traffic.rateLimit,
    });
    expect(limitsFor("/v1/auth")).toBeUndefined();
  });
});
