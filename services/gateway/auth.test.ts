import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import express, { type Request, type Response } from "express";
import { Redis } from "ioredis";
import { pino } from "pino";
import { Counter, Registry } from "prom-client";
import { requireEnv } from "../../test/support/kafka.ts";
import type { Cache } from "../shared/cache.ts";
import { redisCache } from "../shared/redisCache.ts";
import { finishApp } from "../shared/http.ts";
import type { Principal } from "../shared/principal.ts";
import { ReplicaSet } from "../shared/upstream.ts";
import { createVerifier, keyHash, requireApiKey, type AuthCall, type Verifier } from "./auth.ts";
import { followRevocations } from "./revocations.ts";

const logger = pino({ level: "silent" });
const GOOD_KEY = "sk-test_good_key_0123456789abcdef";
const UNKNOWN_KEY = "sk-test_unknown_key_0123456789abcdef";
const PRINCIPAL: Principal = { userId: "user_1", keyId: "key_1", plan: "free" };
const secret = "auth-test-principal-secret-0123456789";

/** A real HTTP auth service that knows one key; `mode` makes it fail on demand. */
class FakeAuth {
  calls = 0;
  mode: "ok" | "error" = "ok";
  private server: Server | undefined;
  url = "";

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => {
        this.calls++;
        res.setHeader("content-type", "application/json");
        if (this.mode === "error") {
          res.statusCode = 500;
          res.end('{"error":{"message":"boom"}}');
          return;
        }
        const { key } = JSON.parse(body) as { key: string };
        res.statusCode = key === GOOD_KEY ? 200 : 401;
        res.end(JSON.stringify(key === GOOD_KEY ? { principal: PRINCIPAL } : { error: {} }));
      });
    });
    this.server.listen(0, "127.0.0.1");
    await once(this.server, "listening");
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    const closed = once(this.server, "close");
    this.server.close();
    this.server.closeAllConnections();
    await closed;
    this.server = undefined;
  }
}

test("a verdict in memory admits or refuses at once, without asking for a verification", () => {
  const asked: string[] = [];
  const verifier: Verifier = {
    remembered: (hash) => (hash === keyHash(GOOD_KEY) ? PRINCIPAL : null),
    verify: async (key) => {
      asked.push(key);
      return null;
    },
    forget: async () => undefined,
  };
  const step = requireApiKey(verifier);
  const run = (key: string) => {
    const res = { locals: { ctx: { requestId: "r1" } } } as unknown as Response;
    let passed: unknown = "next not called";
    const req = { headers: { authorization: `Bearer ${key}` } } as Request;
    void step(req, res, (err?: unknown) => (passed = err));
    return { passed, principal: res.locals.principal };
  };
  // Synchronously: `passed` is read before any promise could have settled.
  expect(run(GOOD_KEY)).toEqual({ passed: undefined, principal: PRINCIPAL });
  expect(run(UNKNOWN_KEY).passed).toMatchObject({ status: 401 });
  expect(asked).toEqual([]);
});

describe("API key verdicts with the identity tier's stale fallback", () => {
  let auth: FakeAuth;
  let set: ReplicaSet;
  let cache: Cache;
  let fallbacks: Counter<"upstream" | "kind">;
  let clock: number;
  let verifier: Verifier;
  const prefix = `auth-test-${process.pid}-${Date.now()}`;

  beforeEach(async () => {
    auth = new FakeAuth();
    await auth.start();
    set = new ReplicaSet("auth", [auth.url]);
    cache = redisCache(requireEnv("TEST_REDIS_URL"), `${prefix}-${Math.random()}`);
    fallbacks = new Counter({
      name: "gateway_fallback_total",
      help: "fallbacks",
      labelNames: ["upstream", "kind"] as const,
      registers: [new Registry()],
    });
    clock = 1_700_000_000_000;
    verifier = createVerifier({ auth: set, cache, logger, fallbacks, secret, now: () => clock });
  });

  afterEach(async () => {
    await auth.stop();
    await set.close();
    await cache.close();
  });

  const staleServed = async () =>
    (await fallbacks.get()).values.find((v) => v.labels.kind === "auth-stale-verdict")?.value ?? 0;

  test("a fresh verdict is reused, an older one is checked again", async () => {
    expect(await verifier.verify(GOOD_KEY, "r1")).toEqual(PRINCIPAL);
    clock += 29_000;
    expect(await verifier.verify(GOOD_KEY, "r2")).toEqual(PRINCIPAL);
    expect(auth.calls).toBe(1);
    clock += 2_000;
    expect(await verifier.verify(GOOD_KEY, "r3")).toEqual(PRINCIPAL);
    expect(auth.calls).toBe(2);
    expect(await staleServed()).toBe(0);
  });

  test("a replica answers a fresh verdict from memory; another replica's comes from Redis once", async () => {
    let reads = 0;
    const counted: Cache = { ...cache, get: (k) => (reads++, cache.get(k)) };
    const other = createVerifier({ auth: set, cache: counted, logger, secret, now: () => clock });
    expect(await verifier.verify(GOOD_KEY, "r1")).toEqual(PRINCIPAL);
    expect(await other.verify(GOOD_KEY, "r2")).toEqual(PRINCIPAL);
    expect([auth.calls, reads]).toEqual([1, 1]);
    clock += 29_000;
    for (let i = 0; i < 5; i++)
      expect(await other.verify(GOOD_KEY, `r${i + 3}`)).toEqual(PRINCIPAL);
    expect([auth.calls, reads]).toEqual([1, 1]);
    // Past the freshness, the memory is no excuse: Redis, then the auth service.
    clock += 2_000;
    expect(await other.verify(GOOD_KEY, "r9")).toEqual(PRINCIPAL);
    expect([auth.calls, reads]).toEqual([2, 2]);
  });

  test("when the auth service is down, the last good verdict is served and counted", async () => {
    expect(await verifier.verify(GOOD_KEY, "r1")).toEqual(PRINCIPAL);
    await auth.stop();
    clock += 60_000;
    expect(await verifier.verify(GOOD_KEY, "r2")).toEqual(PRINCIPAL);
    expect(await staleServed()).toBe(1);
    // Past the stale horizon the key cannot be vouched for any more.
    clock += 3_600_000;
    await expect(verifier.verify(GOOD_KEY, "r3")).rejects.toMatchObject({
      status: 503,
      code: "auth_unavailable",
    });
    expect(await staleServed()).toBe(1);
  });

  test("an auth service that answers 5xx counts as unreachable", async () => {
    expect(await verifier.verify(GOOD_KEY, "r1")).toEqual(PRINCIPAL);
    auth.mode = "error";
    clock += 31_000;
    expect(await verifier.verify(GOOD_KEY, "r2")).toEqual(PRINCIPAL);
    expect(auth.calls).toBe(2);
    expect(await staleServed()).toBe(1);
  });

  test("an unknown key is remembered briefly and never served as valid", async () => {
    expect(await verifier.verify(UNKNOWN_KEY, "r1")).toBeNull();
    expect(await verifier.verify(UNKNOWN_KEY, "r2")).toBeNull();
    expect(auth.calls).toBe(1);
    await auth.stop();
    clock += 4_000;
    expect(await verifier.verify(UNKNOWN_KEY, "r3")).toBeNull();
    clock += 2_000;
    await expect(verifier.verify(UNKNOWN_KEY, "r4")).rejects.toMatchObject({ status: 503 });
    expect(await staleServed()).toBe(0);
  });

  test("a key revoked while auth is up stops working at the next check", async () => {
    const revocable = "sk-test_revocable_key_0123456789ab";
    await cache.set(
      `auth:verdict:v2:${keyHash(revocable)}`,
      JSON.stringify({ principal: PRINCIPAL, verifiedAt: clock - 31_000 }),
      3_600,
    );
    expect(await verifier.verify(revocable, "r1")).toBeNull();
    await auth.stop();
    expect(await verifier.verify(revocable, "r2")).toBeNull();
  });

  test("a revoked key's verdicts are forgotten, here and in Redis: the next check asks again", async () => {
    const other = createVerifier({ auth: set, cache, logger, secret, now: () => clock });
    expect(await verifier.verify(GOOD_KEY, "r1")).toEqual(PRINCIPAL);
    expect(verifier.remembered(keyHash(GOOD_KEY))).toEqual(PRINCIPAL);
    await verifier.forget([keyHash(GOOD_KEY)]);
    expect(verifier.remembered(keyHash(GOOD_KEY))).toBeUndefined();
    // Another replica finds nothing in Redis either, well within the verdict's freshness.
    expect(await other.verify(GOOD_KEY, "r2")).toEqual(PRINCIPAL);
    expect(auth.calls).toBe(2);
  });

  test("a verdict planted in Redis without the stack's signature is not believed", async () => {
    const entry = `auth:verdict:v2:${keyHash(UNKNOWN_KEY)}`;
    const forged = { principal: { ...PRINCIPAL, scopes: ["admin"] }, verifiedAt: clock };
    await cache.set(entry, JSON.stringify(forged), 3600);
    expect(await verifier.verify(UNKNOWN_KEY, "r1")).toBeNull();
    expect(auth.calls).toBe(1);
    // Signed with another stack's secret, or moved from another key's entry: the same.
    await verifier.verify(GOOD_KEY, "r2");
    const good = await cache.get(`auth:verdict:v2:${keyHash(GOOD_KEY)}`);
    expect(JSON.parse(good!)).toMatchObject({ principal: PRINCIPAL, mac: expect.any(String) });
    const elsewhere = createVerifier({ auth: set, cache, logger, secret, now: () => clock });
    await cache.set(entry, good!, 3600);
    expect(await elsewhere.verify(UNKNOWN_KEY, "r3")).toBeNull();
    const otherStack = createVerifier({
      auth: set,
      cache,
      logger,
      secret: "another-stack-secret-0123456789abcdef",
      now: () => clock,
    });
    auth.mode = "error";
    // With auth away, an unsigned entry is no stale verdict to fall back on either.
    await expect(otherStack.verify(GOOD_KEY, "r4")).rejects.toMatchObject({ status: 503 });
  });

  test("only the key's hash reaches Redis", async () => {
    await verifier.verify(GOOD_KEY, "r1");
    const raw = new Redis(requireEnv("TEST_REDIS_URL"));
    try {
      const keys = await raw.keys(`${prefix}*`);
      expect(keys.length).toBeGreaterThan(0);
      for (const k of keys) {
        expect(k).not.toContain(GOOD_KEY);
        expect(await raw.get(k)).not.toContain(GOOD_KEY);
      }
    } finally {
      raw.disconnect();
    }
  });

  test("the hash the chain read once is the one the verdict is kept under", async () => {
    // The rate limiter hashed the key already (callerKey): the verifier must not hash it again,
    // and must find the verdict under that same hash.
    const hash = keyHash(GOOD_KEY);
    expect(await verifier.verify(GOOD_KEY, "r1", hash)).toEqual(PRINCIPAL);
    expect(await cache.get(`auth:verdict:v2:${hash}`)).toBeDefined();
    expect(await verifier.verify(GOOD_KEY, "r2")).toEqual(PRINCIPAL);
    expect(auth.calls).toBe(1);
  });

  test("the middleware answers 401 without a key and a JSON 503 when no verdict can be had", async () => {
    const app = express();
    app.use((_req, res, next) => {
      res.locals.ctx = { requestId: "req-1", traceId: "t", spanId: "s", traceparent: "p" };
      next();
    });
    app.use(requireApiKey(verifier));
    app.get("/v1/x", (_req, res) => res.json({ principal: res.locals.principal }));
    finishApp(app, logger);
    const server = app.listen(0, "127.0.0.1");
    await once(server, "listening");
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/x`;
    try {
      expect((await fetch(base)).status).toBe(401);
      const ok = await fetch(base, { headers: { authorization: `Bearer ${GOOD_KEY}` } });
      expect(await ok.json()).toEqual({ principal: PRINCIPAL });
      await auth.stop();
      const down = await fetch(base, { headers: { authorization: `Bearer ${UNKNOWN_KEY}` } });
      expect(down.status).toBe(503);
      expect(await down.json()).toMatchObject({
        error: { type: "service_unavailable", code: "auth_unavailable", request_id: "req-1" },
      });
    } finally {
      server.close();
      server.closeAllConnections();
    }
  });
});

test("the revocation follower forgets what each answer names, and asks from where it left off", async () => {
  const asked: unknown[] = [];
  const forgotten: string[][] = [];
  const hash = keyHash(GOOD_KEY);
  let fail = false;
  const call: AuthCall = async (req) => {
    asked.push(JSON.parse(req.body.toString()));
    const answer = fail
      ? { statusCode: 503, text: "{}" }
      : {
          statusCode: 200,
          text: JSON.stringify({
            revoked: asked.length === 1 ? [hash] : [],
            until: `2026-12-07T10:00:0${asked.length}.000Z`,
          }),
        };
    return { statusCode: answer.statusCode, body: { text: async () => answer.text } };
  };
  const follower = followRevocations({
    call,
    forget: async (hashes) => void forgotten.push([...hashes]),
    logger,
    intervalMs: 3_600_000,
  });
  try {
    await follower.poll(); // the one started with it, joined
    await follower.poll();
    fail = true;
    await follower.poll();
    fail = false;
    await follower.poll();
    expect(forgotten).toEqual([[hash]]);
    // The first ask looks back as far as the auth service decides; a failed one moves nothing.
    expect(asked).toEqual([
      {},
      { since: "2026-12-07T10:00:01.000Z" },
      { since: "2026-12-07T10:00:02.000Z" },
      { since: "2026-12-07T10:00:02.000Z" },
    ]);
  } finally {
    follower.stop();
  }
});
