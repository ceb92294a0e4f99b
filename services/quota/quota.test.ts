import { randomUUID } from "node:crypto";
import {
  connect,
  createServer as createNetServer,
  type AddressInfo,
  type Server as NetServer,
  type Socket,
} from "node:net";
import { Redis } from "ioredis";
import { createDatabase } from "../../test/servers/index.ts";
import { readTopic, requireEnv } from "../../test/support/kafka.ts";
import {
  principal,
  serveApp,
  stackCall,
  type ServedApp,
  TEST_PRINCIPAL_SECRET,
} from "../../test/support/serviceApp.ts";
import { kafkaBus } from "../shared/events.ts";
import { createLogger } from "../shared/logger.ts";
import { relayOnce } from "../shared/outbox.ts";
import { openDb, type Db } from "../shared/sql/db.ts";
import { migrate } from "../shared/sql/migrate.ts";
import { ReplicaSet } from "../shared/upstream.ts";
import { userRoutes } from "../user/app.ts";
import { migrations as userMigrations, userStore } from "../user/store.ts";
import { quotaRoutes } from "./app.ts";
import { USAGE_TOPIC } from "./contract.ts";
import { openQuotaRedis, redisCounter, sqlCounter, type Counter } from "./counter.ts";
import { planSource } from "./plans.ts";
import { migrations, quotaStore } from "./store.ts";

// The quota service as it runs: two instances sharing one Redis and one PostgreSQL, plan limits
// from the real user service over HTTP, usage events through the outbox to a real Kafka.

process.env["LOG_LEVEL"] ??= "silent";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the assertions check the shape
type Json = Record<string, any>;

const DAY = 86_400_000;
let quotaUrl: string;
const quotaDbs: Db[] = [];
let userDb: Db;
let userApp: ServedApp;
let userSet: ReplicaSet;
const served: ServedApp[] = [];
const clients: Redis[] = [];
let redisUrl: string;
let admin: Redis;
/** Base URLs of the two instances that share Redis. */
let instances: string[];

/** One quota instance with its own pools and clients, as a replica has. */
async function instance(opts: {
  counter: (store: ReturnType<typeof quotaStore>) => Counter | Promise<Counter>;
  user?: ReplicaSet;
  now?: () => number;
}): Promise<string> {
  const db = await openDb({
    service: "quota",
    domain: "identity",
    databaseUrl: quotaUrl,
    dataDir: "",
  });
  quotaDbs.push(db);
  await migrate(db, "quota", migrations);
  const store = quotaStore(db);
  const logger = createLogger("quota");
  const counter = await opts.counter(store);
  const app = await serveApp("quota", (a) =>
    quotaRoutes(a, {
      counter,
      store,
      plans: planSource({ user: opts.user ?? userSet, store, logger, freshMs: 0 }),
      logger,
      now: opts.now,
    }),
  );
  served.push(app);
  return app.url;
}

function withRedis(url = redisUrl) {
  return async (store: ReturnType<typeof quotaStore>) => {
    const client = await openQuotaRedis(url);
    clients.push(client);
    return redisCounter(client, store, createLogger("quota"));
  };
}

beforeAll(async () => {
  // A Redis database of the test's own, so that flushing it touches no other test's keys.
  redisUrl = `${requireEnv("TEST_REDIS_URL")}/9`;
  admin = new Redis(redisUrl);
  const userUrl = await createDatabase("quotauser");
  quotaUrl = await createDatabase("quotatest");
  userDb = await openDb({ service: "user", domain: "identity", databaseUrl: userUrl, dataDir: "" });
  await migrate(userDb, "user", userMigrations);
  const users = userStore(userDb);
  await users.putPlan("tiny", { requestsPerDay: 5, tokensPerDay: 100, models: [] });
  await users.putPlan("ample", { requestsPerDay: 1000, tokensPerDay: 1_000_000, models: [] });
  userApp = await serveApp("user", (app) => userRoutes(app, users));
  userSet = new ReplicaSet("user", [userApp.url], { signWith: TEST_PRINCIPAL_SECRET });
  instances = [await instance({ counter: withRedis() }), await instance({ counter: withRedis() })];
}, 60_000);

afterAll(async () => {
  await Promise.all(served.map((s) => s.close()));
  await userApp?.close();
  await userSet?.close();
  for (const c of clients) c.disconnect();
  admin?.disconnect();
  await Promise.all([...quotaDbs.map((d) => d.close()), userDb?.close()]);
});

async function post(base: string, path: string, body: unknown) {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...stackCall() },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Json };
}

const check = (base: string, userId: string, plan = "tiny", requests?: number) =>
  post(base, "/internal/quota/check", {
    userId,
    plan,
    ...(requests === undefined ? {} : { requests }),
  });

async function mine(base: string, userId: string, plan = "tiny") {
  const res = await fetch(`${base}/v1/quota`, {
    headers: principal(userId, { keyId: "key_1", plan }),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

function usage(userId: string, tokens: [number, number], over: Json = {}) {
  return {
    usageId: `chatcmpl-${randomUUID()}`,
    userId,
    plan: "tiny",
    model: "deepseek-chat",
    promptTokens: tokens[0],
    completionTokens: tokens[1],
    cached: false,
    at: new Date().toISOString(),
    ...over,
  };
}

const user = () => `u-${randomUUID()}`;

test("two instances on one Redis grant exactly the limit under a concurrent burst", async () => {
  const id = user();
  const answers = await Promise.all(
    Array.from({ length: 24 }, (_, i) => check(instances[i % 2]!, id)),
  );
  const granted = answers.filter((a) => a.status === 200);
  const refused = answers.filter((a) => a.status === 429);
  expect(granted).toHaveLength(5);
  expect(refused).toHaveLength(19);
  expect(granted.map((a) => a.body.requests.used).sort()).toEqual([1, 2, 3, 4, 5]);
  const resetAt = Date.parse(granted[0]!.body.requests.resetAt);
  expect(resetAt % DAY).toBe(0);
  for (const r of refused) {
    expect(r.body.error).toMatchObject({ type: "rate_limit_error", code: "quota_exceeded" });
    const retryAfter = Number(r.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(DAY / 1000);
  }
  // PostgreSQL holds the same count as Redis.
  expect(await quotaStore(quotaDbs[0]!).counts(id, new Date().toISOString().slice(0, 10))).toEqual({
    requests: 5,
    tokens: 0,
  });
  const status = await mine(instances[1]!, id);
  expect(status.body.requests).toMatchObject({ limit: 5, used: 5, remaining: 0 });
  expect(status.body.tokens).toMatchObject({ limit: 100, used: 0, remaining: 100 });
});

test("nothing is lost when Redis is flushed: counts come back from PostgreSQL", async () => {
  const id = user();
  for (let i = 0; i < 3; i++) expect((await check(instances[i % 2]!, id)).status).toBe(200);
  expect((await post(instances[0]!, "/internal/quota/usage", usage(id, [20, 10]))).body).toEqual({
    recorded: true,
  });
  await admin.flushdb();
  expect((await mine(instances[0]!, id)).body.requests.used).toBe(3);
  expect((await mine(instances[0]!, id)).body.tokens.used).toBe(30);
  expect((await check(instances[1]!, id, "tiny", 2)).body.requests).toMatchObject({
    used: 5,
    remaining: 0,
  });
  await admin.flushdb();
  const refused = await check(instances[0]!, id);
  expect(refused.status).toBe(429);
});

test("a spent token balance is a 402, a refusal consumes nothing, and requests: 0 only reads", async () => {
  const id = user();
  expect((await check(instances[0]!, id)).status).toBe(200);
  await post(instances[1]!, "/internal/quota/usage", usage(id, [60, 40]));
  const refused = await check(instances[0]!, id);
  expect(refused.status).toBe(402);
  expect(refused.body.error).toMatchObject({
    type: "invalid_request_error",
    code: "insufficient_balance",
  });
  expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
  const status = await mine(instances[0]!, id);
  expect(status.body.requests.used).toBe(1);
  expect(status.body.tokens).toMatchObject({ used: 100, remaining: 0 });
  // A different plan (an upgrade) lifts the refusal at once.
  expect((await check(instances[0]!, id, "ample", 0)).body.requests).toMatchObject({
    used: 1,
    limit: 1000,
  });
});

test("a usage counts once per usageId, even sent concurrently to both instances", async () => {
  const id = user();
  const once = usage(id, [7, 5]);
  const answers = await Promise.all(
    Array.from({ length: 8 }, (_, i) => post(instances[i % 2]!, "/internal/quota/usage", once)),
  );
  expect(answers.every((a) => a.status === 200)).toBe(true);
  expect(answers.filter((a) => a.body.recorded === true)).toHaveLength(1);
  expect((await mine(instances[0]!, id)).body.tokens.used).toBe(12);
  expect((await post(instances[0]!, "/internal/quota/usage", once)).body).toEqual({
    recorded: false,
  });
});

test("each recorded usage is an identity.usage event on Kafka, once", async () => {
  const id = user();
  const first = usage(id, [3, 4], { cached: true });
  await post(instances[0]!, "/internal/quota/usage", first);
  await post(instances[1]!, "/internal/quota/usage", first);
  const bus = kafkaBus(requireEnv("TEST_KAFKA_BROKERS"), "quota-test");
  try {
    while ((await relayOnce(quotaDbs[0]!, bus)) > 0);
  } finally {
    await bus.close();
  }
  const values = await readTopic(requireEnv("TEST_KAFKA_BROKERS"), USAGE_TOPIC, (vs) =>
    vs.some((v) => v.includes(first.usageId)),
  );
  // The topic is shared with other suites' messages, some deliberately not JSON (billing's poison).
  const events = values
    .filter((v) => v.includes(first.usageId))
    .map((v) => JSON.parse(v) as Json)
    .filter((e) => e.id === first.usageId);
  expect(events).toEqual([
    { id: first.usageId, type: "usage.recorded", at: first.at, data: first },
  ]);
});

test("a new day starts from zero", async () => {
  const id = user();
  let now = Date.now();
  const clocked = await instance({ counter: withRedis(), now: () => now });
  for (let i = 0; i < 5; i++) await check(clocked, id);
  expect((await check(clocked, id)).status).toBe(429);
  now += DAY;
  const next = await check(clocked, id);
  expect(next.status).toBe(200);
  expect(next.body.requests).toMatchObject({ used: 1, remaining: 4 });
  expect(
    Date.parse(next.body.requests.resetAt) - Date.parse(new Date().toISOString().slice(0, 10)),
  ).toBe(2 * DAY);
});

test("usage reported for yesterday counts to yesterday", async () => {
  const id = user();
  await post(
    instances[0]!,
    "/internal/quota/usage",
    usage(id, [90, 10], { at: new Date(Date.now() - DAY).toISOString() }),
  );
  expect((await check(instances[0]!, id)).status).toBe(200);
});

test("checks and usage reports take a call this stack signed, and consume nothing else (finding 8)", async () => {
  const id = `unsigned-${randomUUID()}`;
  for (const [path, body] of [
    ["/internal/quota/check", { userId: id, plan: "tiny" }],
    ["/internal/quota/usage", usage(id, [50, 50])],
  ] as const) {
    const res = await fetch(`${instances[0]!}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    expect([path, res.status]).toEqual([path, 401]);
  }
  expect((await mine(instances[0]!, id)).body).toMatchObject({
    requests: { used: 0 },
    tokens: { used: 0 },
  });
});

test("malformed input is a 400 naming the field; an unknown plan too", async () => {
  const base = instances[0]!;
  const cases: [string, unknown, string][] = [
    ["/internal/quota/check", { plan: "tiny" }, "userId"],
    ["/internal/quota/check", { userId: "a", plan: "tiny", requests: -1 }, "requests"],
    ["/internal/quota/check", { userId: "a", plan: "tiny", requests: 1.5 }, "requests"],
    ["/internal/quota/check", { userId: "a", plan: "Not A Plan" }, "plan"],
    ["/internal/quota/check", { userId: "a", plan: "tiny", extra: 1 }, "body"],
    ["/internal/quota/usage", usage("a", [1, 1], { at: "yesterday" }), "at"],
    ["/internal/quota/usage", usage("a", [-1, 1]), "promptTokens"],
    ["/internal/quota/usage", usage("a", [1, 1], { usageId: "" }), "usageId"],
    ["/internal/quota/usage", usage("a", [1, 1], { cached: "no" }), "cached"],
  ];
  for (const [path, body, param] of cases) {
    const res = await post(base, path, body);
    expect({ param, status: res.status, got: res.body.error.param }).toEqual({
      param,
      status: 400,
      got: param,
    });
  }
  const unknown = await check(base, "a", "gold");
  expect(unknown.status).toBe(400);
  expect(unknown.body.error).toMatchObject({ code: "unknown_plan", param: "plan" });
  expect((await post(base, "/internal/quota/check", "{not json")).status).toBe(400);
  expect((await fetch(`${base}/v1/quota`)).status).toBe(401);
});

test("with the user service down, the last known plan still applies, even after a restart", async () => {
  const id = user();
  // Plans fetched once are remembered in PostgreSQL (the instances above fetched "tiny").
  const dead = new ReplicaSet("user", ["http://127.0.0.1:1"]);
  try {
    const restarted = await instance({ counter: withRedis(), user: dead });
    for (let i = 0; i < 5; i++) expect((await check(restarted, id)).status).toBe(200);
    expect((await check(restarted, id)).status).toBe(429);
    // A plan never seen cannot be guessed.
    const never = await check(restarted, id, "never-seen");
    expect(never.status).toBe(503);
    expect(never.body.error.code).toBe("quota_unavailable");
  } finally {
    await dead.close();
  }
});

test("while Redis is unreachable, PostgreSQL decides, atomically", async () => {
  const id = user();
  const down = [
    await instance({ counter: withRedis("redis://127.0.0.1:1") }),
    await instance({ counter: withRedis("redis://127.0.0.1:1") }),
  ];
  const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => check(down[i % 2]!, id)));
  expect(answers.filter((a) => a.status === 200)).toHaveLength(5);
  expect(answers.filter((a) => a.status === 429)).toHaveLength(7);
  // The count is in PostgreSQL, so Redis, once back, starts from it.
  expect((await check(instances[0]!, id)).status).toBe(429);
});

/** A TCP hop to the test's Redis that can be cut and restored: a network partition, not a flush. */
async function cuttableRedis(): Promise<{
  url: string;
  cut(): void;
  restore(): Promise<void>;
}> {
  const target = new URL(redisUrl);
  const sockets = new Set<Socket>();
  let server: NetServer | undefined;
  let port = 0;
  const listen = async () => {
    server = createNetServer((client) => {
      const upstream = connect(Number(target.port), target.hostname);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on("error", () => undefined);
        s.on("close", () => sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((ok) => server!.listen(port, "127.0.0.1", ok));
    port = (server!.address() as AddressInfo).port;
  };
  await listen();
  return {
    url: `redis://127.0.0.1:${port}${target.pathname}`,
    cut() {
      server?.close();
      for (const s of sockets) s.destroy();
    },
    restore: listen,
  };
}

test("a Redis key that outlived an outage is rebuilt with what the database granted meanwhile", async () => {
  const id = user();
  const link = await cuttableRedis();
  const partitioned = await instance({ counter: withRedis(link.url) });
  expect((await check(partitioned, id)).status).toBe(200);
  expect((await check(partitioned, id)).status).toBe(200);
  // Redis is out of reach for this replica only; its key (2 requests) stays in Redis.
  link.cut();
  expect((await check(partitioned, id)).status).toBe(200);
  expect((await check(partitioned, id)).status).toBe(200);
  await link.restore();
  // Back: the key is deleted within a second and seeded from PostgreSQL's 4, so the others grant
  // the 5th request only, not three more on top of a key that missed two.
  await new Promise((ok) => setTimeout(ok, 2_500));
  const after = await Promise.all(
    Array.from({ length: 4 }, (_, i) => check(instances[i % 2]!, id)),
  );
  expect(after.map((a) => a.status).sort()).toEqual([200, 429, 429, 429]);
  link.cut();
});

test("without Redis (the embedded default), the database counter holds the limit across instances", async () => {
  const id = user();
  const plain = [await instance({ counter: sqlCounter }), await instance({ counter: sqlCounter })];
  const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => check(plain[i % 2]!, id)));
  expect(answers.filter((a) => a.status === 200)).toHaveLength(5);
  await post(plain[0]!, "/internal/quota/usage", usage(id, [100, 0]));
  expect((await check(plain[1]!, id, "tiny", 0)).status).toBe(402);
  expect((await mine(plain[1]!, id)).body.tokens.used).toBe(100);
});
