import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import express from "express";
import type { Redis } from "ioredis";
import { pino } from "pino";
import { Registry } from "prom-client";
import { defaultCatalog } from "../../platform/catalog/default.ts";
import { catalog, validateCatalog } from "../../platform/catalog/index.ts";
import { requireEnv } from "../../test/support/kafka.ts";
import { redisClient } from "../shared/redisCache.ts";
import {
  ResponseCache,
  X_CACHE,
  catalogCachePolicy,
  memoryStore,
  redisStore,
  sendCached,
  type CacheStore,
  type FetchedResponse,
  type ResponseCacheArgs,
} from "./responseCache.ts";

const logger = pino({ level: "silent" });
const ROUTE = "/v1/orders";
const POLICY = { ttlSeconds: 10, staleSeconds: 20 };

/** An upstream that counts its calls and answers `body` (changeable), after `gate` if set. */
class Upstream {
  calls = 0;
  body = "v1";
  status = 200;
  gate: Promise<void> | undefined;
  headers: Record<string, string> = { "content-type": "application/json" };

  fetch = async (): Promise<FetchedResponse> => {
    this.calls++;
    const body = this.body;
    await this.gate;
    return { status: this.status, headers: { ...this.headers }, body: Buffer.from(body) };
  };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await sleep(10);
  }
  throw new Error(`never happened: ${what}`);
}

async function requests(cache: ResponseCache, result: string): Promise<number> {
  const values = (await cache.requests.get()).values;
  return values.filter((v) => v.labels.result === result).reduce((sum, v) => sum + v.value, 0);
}

const clients: Redis[] = [];
afterAll(() => clients.forEach((c) => c.disconnect()));

async function sharedRedis(): Promise<Redis> {
  const redis = redisClient(requireEnv("TEST_REDIS_URL"), { commandTimeoutMs: 5_000 });
  clients.push(redis);
  if (redis.status !== "ready") await once(redis, "ready");
  return redis;
}

let prefixes = 0;
const stores: Record<string, (now: () => number) => Promise<CacheStore>> = {
  redis: async () =>
    redisStore(await sharedRedis(), `rc-test-${process.pid}-${Date.now()}-${prefixes++}`),
  memory: async (now) => memoryStore({ now }),
};

describe.each(Object.keys(stores))("response cache on the %s store", (kind) => {
  let clock: number;
  let cache: ResponseCache;
  let store: CacheStore;
  let upstream: Upstream;

  const make = (extra: Partial<ResponseCacheArgs> = {}) =>
    new ResponseCache({ store, registry: new Registry(), logger, now: () => clock, ...extra });

  beforeEach(async () => {
    clock = 1_700_000_000_000;
    store = await stores[kind]!(() => clock);
    cache = make();
    upstream = new Upstream();
  });

  test("fresh within the ttl, stale (and refreshed once) within the stale window, a miss beyond", async () => {
    const key = cache.key({
      route: ROUTE,
      path: "/v1/orders",
      query: "limit=20",
      principal: "alice",
    });
    expect(await cache.getOrFetch(key, POLICY, upstream.fetch)).toMatchObject({ state: "miss" });
    const hit = await cache.getOrFetch(key, POLICY, upstream.fetch);
    expect(hit.state).toBe("hit");
    expect(hit.response.body.toString()).toBe("v1");
    expect(upstream.calls).toBe(1);

    clock += 15_000;
    upstream.body = "v2";
    const gate = deferred();
    upstream.gate = gate.promise;
    const stale = await cache.getOrFetch(key, POLICY, upstream.fetch);
    expect(stale.state).toBe("stale");
    expect(stale.response.body.toString()).toBe("v1");
    // A second stale read while the refresh runs does not start another.
    expect((await cache.getOrFetch(key, POLICY, upstream.fetch)).state).toBe("stale");
    await until(async () => upstream.calls === 2, "the refresh started");
    gate.resolve();
    await until(
      async () => (await cache.lastKnown(key))?.body.toString() === "v2",
      "refresh stored",
    );
    expect(upstream.calls).toBe(2);
    const refreshed = await cache.getOrFetch(key, POLICY, upstream.fetch);
    expect(refreshed).toMatchObject({ state: "hit" });
    expect(refreshed.response.body.toString()).toBe("v2");

    clock += 30_001;
    upstream.body = "v3";
    const missed = await cache.getOrFetch(key, POLICY, upstream.fetch);
    expect(missed.state).toBe("miss");
    expect(missed.response.body.toString()).toBe("v3");
    expect(await requests(cache, "hit")).toBe(2);
    expect(await requests(cache, "stale")).toBe(2);
    expect(await requests(cache, "miss")).toBe(2);
  });

  test("concurrent misses of one key make one upstream call", async () => {
    const key = cache.key({ route: ROUTE, path: "/v1/orders", query: "", principal: "alice" });
    const gate = deferred();
    upstream.gate = gate.promise;
    const pending = Array.from({ length: 20 }, () => cache.getOrFetch(key, POLICY, upstream.fetch));
    await until(async () => upstream.calls > 0, "the first call started");
    gate.resolve();
    const results = await Promise.all(pending);
    expect(upstream.calls).toBe(1);
    expect(results.filter((r) => r.state === "miss")).toHaveLength(1);
    expect(results.filter((r) => r.state === "coalesced")).toHaveLength(19);
    expect(new Set(results.map((r) => r.response.body.toString()))).toEqual(new Set(["v1"]));
  });

  test("a failed upstream call fails every waiter and leaves nothing cached", async () => {
    const key = cache.key({ route: ROUTE, path: "/v1/orders", query: "", principal: "alice" });
    const gate = deferred();
    const failing = async (): Promise<FetchedResponse> => {
      upstream.calls++;
      await gate.promise;
      throw new Error("service down");
    };
    const pending = Array.from({ length: 5 }, () => cache.getOrFetch(key, POLICY, failing));
    await until(async () => upstream.calls > 0, "the call started");
    gate.resolve();
    const settled = await Promise.allSettled(pending);
    expect(settled.every((s) => s.status === "rejected")).toBe(true);
    expect(upstream.calls).toBe(1);
    expect(await cache.lastKnown(key)).toBeUndefined();
    expect((await cache.getOrFetch(key, POLICY, upstream.fetch)).state).toBe("miss");
  });

  test("a write makes its principal's reads miss, and the route's shared reads", async () => {
    const alice = cache.key({ route: ROUTE, path: "/v1/orders", query: "", principal: "alice" });
    const bob = cache.key({ route: ROUTE, path: "/v1/orders", query: "", principal: "bob" });
    const shared = cache.key({ route: ROUTE, path: "/v1/orders/catalogue", query: "" });
    for (const key of [alice, bob, shared]) await cache.getOrFetch(key, POLICY, upstream.fetch);
    expect(upstream.calls).toBe(3);

    await cache.invalidate(ROUTE, "alice");
    expect((await cache.getOrFetch(alice, POLICY, upstream.fetch)).state).toBe("miss");
    expect((await cache.getOrFetch(bob, POLICY, upstream.fetch)).state).toBe("hit");
    expect((await cache.getOrFetch(shared, POLICY, upstream.fetch)).state).toBe("miss");
    // The entry from before the write is not a fallback answer either.
    await cache.invalidate(ROUTE, "alice");
    expect(await cache.lastKnown(alice)).toBeUndefined();
    // Another route keeps its entries.
    const other = cache.key({
      route: "/v1/articles",
      path: "/v1/articles",
      query: "",
      principal: "alice",
    });
    await cache.getOrFetch(other, POLICY, upstream.fetch);
    await cache.invalidate(ROUTE, "alice");
    expect((await cache.getOrFetch(other, POLICY, upstream.fetch)).state).toBe("hit");
  });

  test("lastKnown outlives the stale window up to the fallback horizon", async () => {
    cache = make({ fallbackSeconds: 600 });
    const key = cache.key({ route: ROUTE, path: "/v1/orders", query: "", principal: "alice" });
    await cache.getOrFetch(key, POLICY, upstream.fetch);
    clock += 300_000;
    expect((await cache.lastKnown(key))?.body.toString()).toBe("v1");
    clock += 300_001;
    expect(await cache.lastKnown(key)).toBeUndefined();
  });

  test("only 200s without no-store are stored, and only replayable headers", async () => {
    const key = cache.key({ route: ROUTE, path: "/v1/orders", query: "", principal: "alice" });
    upstream.status = 404;
    expect((await cache.getOrFetch(key, POLICY, upstream.fetch)).state).toBe("miss");
    upstream.status = 200;
    upstream.headers["cache-control"] = "private, no-store";
    expect((await cache.getOrFetch(key, POLICY, upstream.fetch)).state).toBe("miss");
    upstream.headers = {
      "content-type": "application/json",
      "set-cookie": "session=secret",
      "x-request-id": "someone-else",
      connection: "keep-alive",
      "x-total-count": "3",
    };
    await cache.getOrFetch(key, POLICY, upstream.fetch);
    const hit = await cache.getOrFetch(key, POLICY, upstream.fetch);
    expect(hit.state).toBe("hit");
    expect(hit.response.headers).toEqual({
      "content-type": "application/json",
      "x-total-count": "3",
    });
    expect(upstream.calls).toBe(3);
  });

  test("larger answers than the cap pass through uncached", async () => {
    cache = make({ maxBodyBytes: 4 });
    const key = cache.key({ route: ROUTE, path: "/v1/orders", query: "", principal: "alice" });
    upstream.body = "12345";
    await cache.getOrFetch(key, POLICY, upstream.fetch);
    expect((await cache.getOrFetch(key, POLICY, upstream.fetch)).state).toBe("miss");
  });
});

describe("response cache shared by two replicas (real Redis)", () => {
  test("concurrent misses on both replicas make one upstream call", async () => {
    const prefix = `rc-test-${process.pid}-${Date.now()}-pair`;
    const clock = () => 1_700_000_000_000;
    const args = { registry: new Registry(), logger, now: clock, waitMs: 5_000 };
    const a = new ResponseCache({ ...args, store: redisStore(await sharedRedis(), prefix) });
    const b = new ResponseCache({
      ...args,
      registry: new Registry(),
      store: redisStore(await sharedRedis(), prefix),
    });
    const upstream = new Upstream();
    const gate = deferred();
    upstream.gate = gate.promise;
    const key = a.key({ route: ROUTE, path: "/v1/orders", query: "b=2&a=1" });
    // The same read, spelled with its query in another order, on the other replica.
    expect(b.key({ route: ROUTE, path: "/v1/orders", query: "a=1&b=2" })).toEqual(key);
    const pending = Array.from({ length: 40 }, (_, i) =>
      (i % 2 ? a : b).getOrFetch(key, POLICY, upstream.fetch),
    );
    await until(async () => upstream.calls > 0, "the first call started");
    // Let the other replica find the lock taken before the answer arrives.
    await sleep(50);
    gate.resolve();
    const results = await Promise.all(pending);
    expect(upstream.calls).toBe(1);
    expect(results.filter((r) => r.state === "miss")).toHaveLength(1);
    expect(results.filter((r) => r.state === "coalesced")).toHaveLength(39);
    expect(new Set(results.map((r) => r.response.body.toString()))).toEqual(new Set(["v1"]));
  });
});

describe("a fill that fails on one replica (real Redis)", () => {
  // Drill 2 found this: with the service's breaker open, the lock holder's call failed at once,
  // and the other replica's readers waited the whole waitMs for an entry that never came.
  test("releases the other replica's waiters at once, which then call upstream themselves", async () => {
    const prefix = `rc-test-${process.pid}-${Date.now()}-fail`;
    const clock = () => 1_700_000_000_000;
    // A wait this long would time the test out if waiters were still held for all of it.
    const args = { logger, now: clock, waitMs: 600_000 };
    const a = new ResponseCache({
      ...args,
      registry: new Registry(),
      store: redisStore(await sharedRedis(), prefix),
    });
    const b = new ResponseCache({
      ...args,
      registry: new Registry(),
      store: redisStore(await sharedRedis(), prefix),
    });
    const key = a.key({ route: ROUTE, path: "/v1/orders", query: "" });
    const gate = deferred();
    let started = false;
    const failing = a.getOrFetch(key, POLICY, async () => {
      started = true;
      await gate.promise;
      throw new Error("breaker open");
    });
    await until(async () => started, "the first fill started");
    let calledB = 0;
    const waiting = b.getOrFetch(key, POLICY, async () => {
      calledB++;
      throw new Error("breaker open");
    });
    await sleep(50);
    gate.resolve();
    await expect(failing).rejects.toThrow("breaker open");
    await expect(waiting).rejects.toThrow("breaker open");
    expect(calledB).toBe(1);
  });
});

describe("response cache without its store", () => {
  test("a Redis outage bypasses the cache: every read goes upstream, nothing fails", async () => {
    const dead = redisClient("redis://127.0.0.1:1");
    try {
      const cache = new ResponseCache({
        store: redisStore(dead, "dead"),
        registry: new Registry(),
        logger,
      });
      const upstream = new Upstream();
      const key = cache.key({ route: ROUTE, path: "/v1/orders", query: "", principal: "alice" });
      for (let i = 0; i < 3; i++) {
        const { state, response } = await cache.getOrFetch(key, POLICY, upstream.fetch);
        expect(state).toBe("bypass");
        expect(response.body.toString()).toBe("v1");
      }
      expect(upstream.calls).toBe(3);
      expect(await requests(cache, "bypass")).toBe(3);
      expect(await cache.lastKnown(key)).toBeUndefined();
      await expect(cache.invalidate(ROUTE, "alice")).resolves.toBeUndefined();
    } finally {
      dead.disconnect();
    }
  });
});

describe("keys and answers", () => {
  const cache = new ResponseCache({ store: memoryStore(), registry: new Registry(), logger });

  test("keys differ by route, path, query values and principal, not by query order", () => {
    const base = cache.key({
      route: ROUTE,
      path: "/v1/orders",
      query: "limit=20&after=x",
      principal: "alice",
    });
    expect(
      cache.key({
        route: ROUTE,
        path: "/v1/orders",
        query: "after=x&limit=20",
        principal: "alice",
      }),
    ).toEqual(base);
    expect(
      cache.key({ route: ROUTE, path: "/v1/orders", query: "after=x&limit=21", principal: "alice" })
        .id,
    ).not.toBe(base.id);
    expect(
      cache.key({
        route: ROUTE,
        path: "/v1/orders/1",
        query: "after=x&limit=20",
        principal: "alice",
      }).id,
    ).not.toBe(base.id);
    expect(
      cache.key({ route: ROUTE, path: "/v1/orders", query: "limit=20&after=x", principal: "bob" })
        .scope,
    ).not.toBe(base.scope);
    expect(cache.key({ route: ROUTE, path: "/v1/orders", query: "limit=20&after=x" }).scope).toBe(
      `${ROUTE}|*`,
    );
  });

  test("sendCached replays status, headers and body, and says how the answer was obtained", async () => {
    const app = express();
    const storedAt = Date.now() - 7_000;
    app.get("/", (_req, res) =>
      sendCached(
        res,
        {
          status: 200,
          headers: { "content-type": "application/json" },
          body: Buffer.from('{"a":1}'),
          storedAt,
        },
        X_CACHE.hit,
      ),
    );
    const server = app.listen(0, "127.0.0.1");
    await once(server, "listening");
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      expect(res.status).toBe(200);
      expect(res.headers.get("x-cache")).toBe("HIT");
      expect(Number(res.headers.get("age"))).toBeGreaterThanOrEqual(7);
      expect(res.headers.get("content-type")).toBe("application/json");
      expect(await res.json()).toEqual({ a: 1 });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  test("the catalog turns caching on per service with a ttl", () => {
    // auth keeps the default (no caching); the default catalog caches orders' reads for 2 s.
    expect(catalogCachePolicy(catalog, "auth")).toBeUndefined();
    expect(catalogCachePolicy(catalog, "orders")?.ttlSeconds).toBe(2);
    const cached = validateCatalog({
      ...defaultCatalog,
      services: {
        ...defaultCatalog.services,
        orders: {
          ...defaultCatalog.services["orders"]!,
          traffic: { cache: { ttlSeconds: 5, staleSeconds: 30, perPrincipal: false } },
        },
      },
    });
    expect(catalogCachePolicy(cached, "orders")).toEqual({
      ttlSeconds: 5,
      staleSeconds: 30,
      perPrincipal: false,
    });
  });
});
