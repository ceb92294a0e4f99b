import { pino } from "pino";
import { memoryCache } from "../shared/cache.ts";
import { ApiError } from "../shared/errors.ts";
import { VersionRouter, bucketOf } from "./versionRouter.ts";

const logger = pino({ level: "silent" });

function router(initial: Record<string, number>, store = memoryCache()) {
  return new VersionRouter({ service: "orders", initial, store, logger, refreshMs: 60_000 });
}

const users = Array.from({ length: 2000 }, (_, i) => `user-${i}`);

describe("version router", () => {
  test("splits users by weight, and each user always gets the same version", () => {
    const r = router({ v1: 90, v2: 10 });
    const first = users.map((u) => r.choose(u, undefined));
    const share = first.filter((v) => v === "v2").length / users.length;
    expect(share).toBeGreaterThan(0.07);
    expect(share).toBeLessThan(0.13);
    expect(users.map((u) => r.choose(u, undefined))).toEqual(first);
    r.close();
  });

  test("x-api-version pins a version; an unknown one is a 400 naming the header", () => {
    const r = router({ v1: 90, v2: 10 });
    expect(r.choose("anyone", "v2")).toBe("v2");
    expect(() => r.choose("anyone", "v9")).toThrow(ApiError);
    try {
      r.choose("anyone", "v9");
    } catch (err) {
      expect((err as ApiError).status).toBe(400);
      expect((err as ApiError).param).toBe("x-api-version");
    }
    r.close();
  });

  test("a drained version (weight 0) is pinned by an admin only; others get a 403", async () => {
    const r = router({ v1: 90, v2: 10 });
    await r.setWeights({ v1: 100, v2: 0 });
    let refused: unknown;
    try {
      r.choose("anyone", "v2");
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({
      status: 403,
      code: "api_version_drained",
      param: "x-api-version",
    });
    expect(r.choose("anyone", "v1")).toBe("v1");
    expect(r.choose("operator", "v2", true)).toBe("v2");
    r.close();
  });

  test("raising the canary only moves users toward it (users already on v2 stay)", async () => {
    const r = router({ v1: 90, v2: 10 });
    const before = new Map(users.map((u) => [u, r.choose(u, undefined)]));
    await r.setWeights({ v1: 50, v2: 50 });
    for (const u of users) if (before.get(u) === "v2") expect(r.choose(u, undefined)).toBe("v2");
    r.close();
  });

  test("weights set on one replica reach another through the shared store", async () => {
    const store = memoryCache();
    const a = router({ v1: 100, v2: 0 }, store);
    const b = router({ v1: 100, v2: 0 }, store);
    await a.setWeights({ v1: 0, v2: 100 });
    await b.refresh();
    expect(b.choose("someone", undefined)).toBe("v2");
    a.close();
    b.close();
  });

  describe("the catalog's weights and the live ones", () => {
    test("a replica started later routes by the live weights from its first request", async () => {
      const store = memoryCache();
      const a = router({ v1: 100, v2: 0 }, store);
      await a.setWeights({ v1: 0, v2: 100 });
      const restarted = router({ v1: 100, v2: 0 }, store);
      await restarted.loaded;
      expect(restarted.current()).toEqual({ v1: 0, v2: 100 });
      // A version added at weight 0 (the next release, deployed to be canaried) changes nothing.
      const withV3 = new VersionRouter({
        service: "orders",
        initial: { v1: 100, v2: 0, v3: 0 },
        store,
        logger,
        refreshMs: 60_000,
      });
      await withV3.loaded;
      expect(withV3.current()).toEqual({ v1: 0, v2: 100, v3: 0 });
      for (const r of [a, restarted, withV3]) r.close();
    });

    test("a deploy that changes the catalog's weights replaces the live ones", async () => {
      const store = memoryCache();
      const before = router({ v1: 100, v2: 0 }, store);
      await before.setWeights({ v1: 50, v2: 50 });
      const deployed = router({ v1: 0, v2: 100 }, store);
      await deployed.loaded;
      expect(deployed.current()).toEqual({ v1: 0, v2: 100 });
      // A replica of the previous deployment, not replaced yet, keeps what it had.
      await before.refresh();
      expect(before.current()).toEqual({ v1: 50, v2: 50 });
      // The new deployment's replicas share the weights moved from its catalog's.
      await deployed.setWeights({ v1: 10, v2: 90 });
      const next = router({ v1: 0, v2: 100 }, store);
      await next.loaded;
      expect(next.current()).toEqual({ v1: 10, v2: 90 });
      for (const r of [before, deployed, next]) r.close();
    });

    test("plain weights stored by an older gateway are still the live ones", async () => {
      const store = memoryCache();
      await store.set("versions:orders", JSON.stringify({ v1: 30, v2: 70 }), 60);
      const r = router({ v1: 100, v2: 0 }, store);
      await r.loaded;
      expect(r.current()).toEqual({ v1: 30, v2: 70 });
      r.close();
    });
  });

  test.each([
    [{ v1: 60, v2: 60 }, "weights: weights must add up to 100 (got 120)"],
    [{ v1: 50, v3: 50 }, "weights.v3: unknown version (known: v1, v2)"],
    [{ v1: "50", v2: 50 }, "weights.v1:"],
  ])("rejects bad weights %j", async (weights, message) => {
    const r = router({ v1: 100, v2: 0 });
    await expect(r.setWeights(weights)).rejects.toThrow(message);
    expect(r.current()).toEqual({ v1: 100, v2: 0 });
    r.close();
  });

  test("buckets are spread over 0..99", () => {
    const buckets = new Set(users.map((u) => bucketOf(u, "orders")));
    expect(Math.min(...buckets)).toBe(0);
    expect(Math.max(...buckets)).toBe(99);
  });
});
