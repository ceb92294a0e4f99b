import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createDatabase } from "../../test/servers/index.ts";
import { requireEnv } from "../../test/support/kafka.ts";
import {
  TEST_PRINCIPAL_SECRET,
  signedCall,
  serveApp,
  type ServedApp,
} from "../../test/support/serviceApp.ts";
import { quotaRoutes } from "../quota/app.ts";
import { openQuotaRedis, redisCounter } from "../quota/counter.ts";
import { planSource } from "../quota/plans.ts";
import { migrations as quotaMigrations, quotaStore } from "../quota/store.ts";
import { createApp, finishApp } from "../shared/http.ts";
import { createLogger } from "../shared/logger.ts";
import { createMetrics } from "../shared/metrics.ts";
import { principalHeaders } from "../shared/principal.ts";
import { openDb, type Db } from "../shared/sql/db.ts";
import { migrate } from "../shared/sql/migrate.ts";
import { ReplicaSet } from "../shared/upstream.ts";
import { userRoutes } from "../user/app.ts";
import { migrations as userMigrations, userStore } from "../user/store.ts";
import { deliverOnce, startDeliverer, tierSender } from "./quota.ts";
import { chatStore, migrations, type UsageRecord } from "./store.ts";

// chat's usage reports reach the real quota service (on real PostgreSQL and Redis, plan limits
// from the real user service) through an outage: what chat recorded while quota was down is
// delivered once it is back, and counted once however often it is sent.

process.env["LOG_LEVEL"] ??= "silent";

const logger = createLogger("chat");
let chatDb: Db;
const dbs: Db[] = [];
const closers: Array<() => Promise<void> | void> = [];
let quotaServer: Server;
let quotaPort: number;
let quotaSet: ReplicaSet;
let users: ReturnType<typeof userStore>;

function startQuota(): Promise<void> {
  quotaServer.listen(quotaPort, "127.0.0.1");
  return once(quotaServer, "listening").then(() => undefined);
}

function stopQuota(): Promise<void> {
  return new Promise((ok) => {
    quotaServer.closeAllConnections();
    quotaServer.close(() => ok());
  });
}

beforeAll(async () => {
  chatDb = await openDb({
    service: "chat",
    domain: "business",
    databaseUrl: await createDatabase("chatreports"),
    dataDir: "",
  });
  await migrate(chatDb, "chat", migrations);
  const userDb = await openDb({
    service: "user",
    domain: "identity",
    databaseUrl: await createDatabase("chatreportsuser"),
    dataDir: "",
  });
  const quotaDb = await openDb({
    service: "quota",
    domain: "identity",
    databaseUrl: await createDatabase("chatreportsquota"),
    dataDir: "",
  });
  dbs.push(userDb, quotaDb);
  await migrate(userDb, "user", userMigrations);
  await migrate(quotaDb, "quota", quotaMigrations);
  users = userStore(userDb);
  const user: ServedApp = await serveApp("user", (app) => userRoutes(app, users));
  const userSet = new ReplicaSet("user", [user.url], { signWith: TEST_PRINCIPAL_SECRET });
  closers.push(user.close, () => userSet.close());

  const redis = await openQuotaRedis(requireEnv("TEST_REDIS_URL"));
  closers.push(() => redis.disconnect());
  const store = quotaStore(quotaDb);
  const quotaLogger = createLogger("quota");
  const app = createApp({
    logger: quotaLogger,
    metrics: createMetrics("quota"),
    ready: async () => ({}),
    principalSecret: TEST_PRINCIPAL_SECRET,
  });
  quotaRoutes(app, {
    counter: redisCounter(redis, store, quotaLogger),
    store,
    plans: planSource({ user: userSet, store, logger: quotaLogger }),
    logger: quotaLogger,
  });
  finishApp(app, quotaLogger);
  quotaServer = createServer(app);
  quotaServer.listen(0, "127.0.0.1");
  await once(quotaServer, "listening");
  quotaPort = (quotaServer.address() as AddressInfo).port;
  quotaSet = new ReplicaSet("quota", [`http://127.0.0.1:${quotaPort}`], {
    signWith: TEST_PRINCIPAL_SECRET,
  });
  closers.push(() => quotaSet.close());
}, 60_000);

afterAll(async () => {
  if (quotaServer.listening) await stopQuota();
  for (const close of closers.reverse()) await close();
  await Promise.all([chatDb?.close(), ...dbs.map((d) => d.close())]);
});

const usage = (userId: string, n: number): UsageRecord => ({
  requestId: `req-${userId}-${n}`,
  userId,
  keyId: "key_1",
  plan: "free",
  model: "deepseek-chat",
  modelVersion: "ngram-3:1",
  backend: "builtin",
  promptTokens: 10,
  completionTokens: 5,
  totalTokens: 15,
  cached: false,
  stream: false,
  finishReason: "stop",
  conversationId: null,
});

async function tokensUsed(userId: string): Promise<number> {
  // Straight to the quota server, which no signing hop stands before: signed here.
  const res = await fetch(`http://127.0.0.1:${quotaPort}/v1/quota`, {
    headers: signedCall(
      "GET",
      "/v1/quota",
      undefined,
      principalHeaders({ userId, keyId: "key_1", plan: "free" }),
    ),
  });
  return ((await res.json()) as { tokens: { used: number } }).tokens.used;
}

async function pending(): Promise<number> {
  const [row] = await chatDb.query<{ n: number | string }>(
    "SELECT COUNT(*) AS n FROM quota_reports WHERE delivered_at IS NULL AND rejected_at IS NULL",
  );
  return Number(row!.n);
}

test("usage recorded while quota is down is delivered once it is back, and counted once", async () => {
  const userId = `u-outage-${Date.now()}`;
  const store = chatStore(chatDb);
  await stopQuota();
  for (let n = 1; n <= 3; n++) await store.recordTurn(usage(userId, n));

  // quota down: nothing is delivered, nothing is lost.
  const down = await deliverOnce(chatDb, tierSender(quotaSet), logger);
  expect(down).toEqual({ settled: 0, failed: true });
  expect(await pending()).toBe(3);

  await startQuota();
  const stop = startDeliverer(chatDb, tierSender(quotaSet), logger, { intervalMs: 20 });
  try {
    for (let i = 0; i < 200 && (await pending()) > 0; i++)
      await new Promise((ok) => setTimeout(ok, 50));
  } finally {
    await stop();
  }
  expect(await pending()).toBe(0);
  expect(await tokensUsed(userId)).toBe(45);

  // A report sent again (a replica that crashed before marking it) is not counted twice.
  await chatDb.query("UPDATE quota_reports SET delivered_at = NULL");
  while ((await deliverOnce(chatDb, tierSender(quotaSet), logger)).settled > 0);
  expect(await tokensUsed(userId)).toBe(45);
});

test("a report quota refuses as malformed is kept aside and does not hold the others up", async () => {
  const userId = `u-bad-${Date.now()}`;
  const store = chatStore(chatDb);
  await store.recordTurn({ ...usage(userId, 1), plan: "no such plan!" });
  await store.recordTurn(usage(userId, 2));
  while ((await deliverOnce(chatDb, tierSender(quotaSet), logger)).settled > 0);
  const rows = await chatDb.query<{
    payload: string;
    rejected_at: string | null;
    delivered_at: string | null;
  }>("SELECT payload, rejected_at, delivered_at FROM quota_reports WHERE payload LIKE $1", [
    `%${userId}%`,
  ]);
  const state = (plan: string) => {
    const row = rows.find((r) => (JSON.parse(r.payload) as { plan: string }).plan === plan)!;
    return { rejected: row.rejected_at !== null, delivered: row.delivered_at !== null };
  };
  expect(state("no such plan!")).toEqual({ rejected: true, delivered: false });
  expect(state("free")).toEqual({ rejected: false, delivered: true });
  expect(await tokensUsed(userId)).toBe(15);
});
