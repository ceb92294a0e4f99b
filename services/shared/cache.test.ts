import { Redis } from "ioredis";
import { requireEnv } from "../../test/support/kafka.ts";
import { memoryCache, redisAuth } from "./cache.ts";
import { redisCache } from "./redisCache.ts";

describe("redis cache (real server)", () => {
  const url = () => requireEnv("TEST_REDIS_URL");

  test("values round-trip, expire with their TTL, and are namespaced by prefix", async () => {
    const a = redisCache(url(), `cache-test-a-${Date.now()}`);
    const b = redisCache(url(), `cache-test-b-${Date.now()}`);
    const raw = new Redis(url());
    try {
      await a.set("k", "v", 30);
      expect(await a.get("k")).toBe("v");
      expect(await b.get("k")).toBeUndefined();
      const keys = await raw.keys("cache-test-a-*:k");
      expect(keys).toHaveLength(1);
      const ttl = await raw.ttl(keys[0]!);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(30);
      await a.del("k");
      expect(await a.get("k")).toBeUndefined();
      expect(await a.ping()).toBe(true);
    } finally {
      await Promise.all([a.close(), b.close()]);
      raw.disconnect();
    }
  });

  test("takeOne counts down atomically across clients: N concurrent takes never pass N", async () => {
    const prefix = `cache-test-take-${Date.now()}`;
    const [a, b] = [redisCache(url(), prefix), redisCache(url(), prefix)];
    try {
      await a.set("left", "5", 30);
      const takes = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).takeOne("left")),
      );
      expect(takes.filter(Boolean)).toHaveLength(5);
      expect(await a.get("left")).toBe("0");
      expect(await b.takeOne("absent")).toBe(false);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test("an unreachable Redis fails calls instead of hanging, and ping says so", async () => {
    const dead = redisCache("redis://127.0.0.1:1", "dead");
    try {
      expect(await dead.ping()).toBe(false);
      await expect(dead.get("k")).rejects.toThrow();
    } finally {
      await dead.close();
    }
  });
});

describe("memory cache", () => {
  test("evicts the oldest entry when full", async () => {
    const cache = memoryCache(2);
    await cache.set("a", "1", 60);
    await cache.set("b", "2", 60);
    await cache.set("c", "3", 60);
    expect(await cache.get("a")).toBeUndefined();
    expect(await cache.get("c")).toBe("3");
  });

  test("takeOne counts a number down to zero, and never an absent or expired one", async () => {
    const cache = memoryCache();
    await cache.set("left", "2", 60);
    expect([await cache.takeOne("left"), await cache.takeOne("left")]).toEqual([true, true]);
    expect(await cache.takeOne("left")).toBe(false);
    expect(await cache.takeOne("absent")).toBe(false);
    await cache.set("gone", "3", 0);
    expect(await cache.takeOne("gone")).toBe(false);
  });

  test("a zero TTL entry is already expired", async () => {
    const cache = memoryCache();
    await cache.set("a", "1", 0);
    expect(await cache.get("a")).toBeUndefined();
  });
});

describe("redis auth", () => {
  test("the AUTH token comes from REDIS_PASSWORD, never from the URL", () => {
    expect(redisAuth({ REDIS_PASSWORD: "token-from-secrets-manager" })).toEqual({
      password: "token-from-secrets-manager",
    });
    expect(redisAuth({})).toEqual({});
  });
});
