import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import { createDatabase } from "../../test/servers/index.ts";
import { requireEnv } from "../../test/support/kafka.ts";
import {
  listenOnLoopback,
  TEST_PRINCIPAL_SECRET,
  signedCall,
  serveApp,
  type ServedApp,
} from "../../test/support/serviceApp.ts";
import { defaultCatalog } from "../../platform/catalog/default.ts";
import { services, validateCatalog, type Catalog } from "../../platform/catalog/index.ts";
import { versionedName } from "../../platform/runtimeEnv.ts";
import { quotaRoutes } from "../quota/app.ts";
import { openQuotaRedis, redisCounter } from "../quota/counter.ts";
import { planSource } from "../quota/plans.ts";
import { migrations as quotaMigrations, quotaStore } from "../quota/store.ts";
import { redisCache } from "../shared/redisCache.ts";
import { createApp, finishApp } from "../shared/http.ts";
import { createLogger } from "../shared/logger.ts";
import { createMetrics, type Metrics } from "../shared/metrics.ts";
import type { Principal } from "../shared/principal.ts";
import { openDb, type Db } from "../shared/sql/db.ts";
import { migrate } from "../shared/sql/migrate.ts";
import { ReplicaSet } from "../shared/upstream.ts";
import { userRoutes } from "../user/app.ts";
import { migrations as userMigrations, userStore } from "../user/store.ts";
import { Registry } from "prom-client";
import { createGateway } from "./app.ts";
import { createQuotaChecker, quotaMetrics, type QuotaCall } from "./quota.ts";

// The quota step across both tiers as they run: the business tier checks quotas at the identity
// tier's /internal/quota/check, which asks the real quota service (on real PostgreSQL and Redis,
// with plan limits from the real user service). Keys are verified by a small HTTP auth stand-in
// (the auth service is tested on its own); chat is a stand-in that counts what reaches it.

process.env["LOG_LEVEL"] ??= "silent";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the assertions check the shape
type Json = Record<string, any>;

const DEAD = "http://127.0.0.1:1";
const prefix = `gwquota-${Date.now()}`;
const keys = new Map<string, Principal>();
const dbs: Db[] = [];
const closers: Array<() => Promise<void> | void> = [];
let catalog: Catalog;
let business: { url: string; metrics: Metrics };
let identityUrl: string;
let quotaServer: Server;
let chatCalls = 0;
let modelsSeen: string | string[] | undefined;

const listen = (server: Server) => listenOnLoopback(server, closers);

async function tier(
  domain: string,
  own: Record<string, string>,
  authUrls: string[],
  quotaUrls: string[],
) {
  const logger = createLogger(`${domain}-gateway`);
  const metrics = createMetrics(`${domain}-gateway`);
  const upstreams = Object.fromEntries(
    services(catalog)
      .filter((s) => s.domain === domain)
      .flatMap((s) =>
        s.versions.map((v): [string, string[]] => [
          versionedName(s.name, v.name),
          [own[s.name] ?? DEAD],
        ]),
      ),
  );
  const gateway = createGateway({
    catalog,
    domain,
    upstreams,
    authUrls,
    quotaUrls,
    store: redisCache(requireEnv("TEST_REDIS_URL"), `${prefix}-${domain}`),
    logger,
    metrics,
    proxyHops: 1,
    draining: () => false,
    healthIntervalMs: 200,
    principalSecret: TEST_PRINCIPAL_SECRET,
  });
  closers.push(gateway.close);
  return { url: await listen(createServer(gateway.handler)), metrics };
}

beforeAll(async () => {
  // The chat entry turns the quota step on (and reports usage through the identity tier).
  const input = structuredClone(defaultCatalog);
  const chat = input.services["chat"]!;
  chat.traffic = { ...chat.traffic, quota: true };
  chat.tierCalls = ["quota"];
  catalog = validateCatalog(input);

  const userDb = await openDb({
    service: "user",
    domain: "identity",
    databaseUrl: await createDatabase("gwquotauser"),
    dataDir: "",
  });
  const quotaDb = await openDb({
    service: "quota",
    domain: "identity",
    databaseUrl: await createDatabase("gwquota"),
    dataDir: "",
  });
  dbs.push(userDb, quotaDb);
  await migrate(userDb, "user", userMigrations);
  await migrate(quotaDb, "quota", quotaMigrations);
  const users = userStore(userDb);
  await users.putPlan("tiny", { requestsPerDay: 3, tokensPerDay: 100, models: [] });
  await users.putPlan("narrow", { requestsPerDay: 3, tokensPerDay: 100, models: ["ngram-3"] });
  const user: ServedApp = await serveApp("user", (app) => userRoutes(app, users));
  closers.push(user.close);
  const userSet = new ReplicaSet("user", [user.url], { signWith: TEST_PRINCIPAL_SECRET });
  closers.push(() => userSet.close());

  // The real quota service, on a server of the test's own so that it can be stopped.
  const logger = createLogger("quota");
  const redis = await openQuotaRedis(requireEnv("TEST_REDIS_URL"));
  closers.push(() => redis.disconnect());
  const store = quotaStore(quotaDb);
  const quotaApp = createApp({
    logger,
    metrics: createMetrics("quota"),
    ready: async () => ({}),
    principalSecret: TEST_PRINCIPAL_SECRET,
  });
  quotaRoutes(quotaApp, {
    counter: redisCounter(redis, store, logger),
    store,
    plans: planSource({ user: userSet, store, logger }),
    logger,
  });
  finishApp(quotaApp, logger);
  quotaServer = createServer(quotaApp);
  const quotaUrl = await listen(quotaServer);

  const auth = await listen(
    createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => {
        // Health checks ask for /healthz; only /internal/verify carries a key.
        const principal =
          req.url === "/internal/verify"
            ? keys.get((JSON.parse(body) as { key: string }).key)
            : undefined;
        res.writeHead(principal ? 200 : 401, { "content-type": "application/json" });
        res.end(JSON.stringify(principal ? { principal } : { error: {} }));
      });
    }),
  );
  const chatStandIn = await listen(
    createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        if (req.url === "/v1/chat/completions") {
          chatCalls++;
          modelsSeen = req.headers["x-principal-models"];
        }
        res.writeHead(200, { "content-type": "application/json" });
        res.end(req.url === "/v1/models" ? '{"object":"list","data":[]}' : '{"ok":true}');
      });
    }),
  );

  identityUrl = (await tier("identity", { quota: quotaUrl, user: user.url }, [auth], [quotaUrl]))
    .url;
  business = await tier("business", { chat: chatStandIn }, [identityUrl], [identityUrl]);
}, 60_000);

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await Promise.all(dbs.map((d) => d.close()));
});

/** A new caller on the tiny plan (3 requests, 100 tokens a day), with its key. */
function caller(plan = "tiny"): { key: string; principal: Principal } {
  const id = randomUUID().replace(/-/g, "");
  const principal = { userId: `u-${id}`, keyId: `k-${id}`, plan };
  const key = `sk-test-${id}`;
  keys.set(key, principal);
  return { key, principal };
}

async function complete(key: string) {
  const res = await fetch(`${business.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "deepseek-chat", messages: [{ role: "user", content: "hi" }] }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Json };
}

/** The caller's quota as quota shows it, through the identity tier. */
async function used(key: string): Promise<Json> {
  const res = await fetch(`${identityUrl}/v1/quota`, {
    headers: { authorization: `Bearer ${key}` },
  });
  return (await res.json()) as Json;
}

async function metric(name: string): Promise<string> {
  return (await business.metrics.registry.getSingleMetricAsString(name))
    .split("\n")
    .filter((l) => !l.startsWith("#"))
    .join("\n");
}

test("a completion consumes one request of the caller's quota; listing models costs nothing", async () => {
  const { key } = caller();
  const before = chatCalls;
  expect((await complete(key)).status).toBe(200);
  const models = await fetch(`${business.url}/v1/models`, {
    headers: { authorization: `Bearer ${key}` },
  });
  expect(models.status).toBe(200);
  expect(chatCalls).toBe(before + 1);
  const quota = await used(key);
  expect(quota.requests).toMatchObject({ limit: 3, used: 1, remaining: 2 });
});

test("the plan's models travel with the principal to chat, which enforces them", async () => {
  expect((await complete(caller("narrow").key)).status).toBe(200);
  expect(modelsSeen).toBe("ngram-3");
  // A plan that allows every model adds nothing: the principal keeps its shape.
  expect((await complete(caller().key)).status).toBe(200);
  expect(modelsSeen).toBeUndefined();
});

test("an exhausted request quota is DeepSeek's 429 with Retry-After, and chat never sees it", async () => {
  const { key } = caller();
  for (let i = 0; i < 3; i++) expect((await complete(key)).status).toBe(200);
  const before = chatCalls;
  const refused = await complete(key);
  expect(refused.status).toBe(429);
  expect(refused.body.error).toMatchObject({ type: "rate_limit_error", code: "quota_exceeded" });
  expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
  // The quota resets at the end of the day: an SDK's own retries would only wait for nothing.
  expect(refused.headers.get("x-should-retry")).toBe("false");
  expect(chatCalls).toBe(before);
  expect(await metric("gateway_quota_refusals_total")).toMatch(
    /gateway_quota_refusals_total\{reason="quota_exceeded".*\} [1-9]/,
  );
});

test("usage reported through the identity tier counts once; a spent token balance is a 402", async () => {
  const { key, principal } = caller();
  const report = {
    usageId: randomUUID(),
    userId: principal.userId,
    plan: "tiny",
    model: "deepseek-chat",
    promptTokens: 60,
    completionTokens: 50,
    cached: false,
    at: new Date().toISOString(),
  };
  const send = async () => {
    const body = JSON.stringify(report);
    const res = await fetch(`${identityUrl}/internal/quota/usage`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...signedCall("POST", "/internal/quota/usage", body),
      },
      body,
    });
    return { status: res.status, body: (await res.json()) as Json };
  };
  expect(await send()).toEqual({ status: 200, body: { recorded: true } });
  expect(await send()).toEqual({ status: 200, body: { recorded: false } });
  expect((await used(key)).tokens).toMatchObject({ used: 110, remaining: 0 });

  const refused = await complete(key);
  expect(refused.status).toBe(402);
  expect(refused.body.error).toMatchObject({
    type: "invalid_request_error",
    code: "insufficient_balance",
  });
});

test("only the tier that hosts quota serves /internal/quota, and only its own callers' bodies", async () => {
  const check = (
    base: string,
    body: string,
    headers = signedCall("POST", "/internal/quota/check", body),
  ) =>
    fetch(`${base}/internal/quota/check`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
    });
  const onBusiness = await check(business.url, JSON.stringify({ userId: "x", plan: "tiny" }));
  expect(onBusiness.status).toBe(404);
  // The identity tier passes quota's own validation errors on as they are.
  const malformed = await check(identityUrl, JSON.stringify({ userId: "x" }));
  expect(malformed.status).toBe(400);
  expect(((await malformed.json()) as Json).error.param).toBe("plan");
});

test("a tier's internal routes answer only calls this stack signed (finding 8)", async () => {
  const body = JSON.stringify({ userId: "x", plan: "tiny" });
  const cases: Record<string, Record<string, string>> = {
    unsigned: {},
    "signed for another route": signedCall("POST", "/internal/quota/usage", body),
    "signed for another body": signedCall("POST", "/internal/quota/check", "{}"),
  };
  for (const [what, headers] of Object.entries(cases)) {
    const res = await fetch(`${identityUrl}/internal/quota/check`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
    });
    expect([what, res.status, ((await res.json()) as Json).error.code]).toEqual([
      what,
      401,
      "invalid_api_key",
    ]);
  }
  const verify = await fetch(`${identityUrl}/internal/verify`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ key: "sk-anything_0123456789abcdefghij" }),
  });
  expect(verify.status).toBe(401);
  expect(((await verify.json()) as Json).error.message).toBe(
    "the call is not signed by this stack",
  );
});

test("quota down: a recent verdict stands in, counted down; a caller without one gets a 503", async () => {
  const allowed = caller();
  const spent = caller();
  const stranger = caller();
  expect((await complete(allowed.key)).status).toBe(200); // 2 requests left
  for (let i = 0; i < 3; i++) await complete(spent.key);
  expect((await complete(spent.key)).status).toBe(429);

  await new Promise<void>((ok) => {
    quotaServer.closeAllConnections();
    quotaServer.close(() => ok());
  });

  const before = chatCalls;
  expect((await complete(allowed.key)).status).toBe(200);
  expect((await complete(allowed.key)).status).toBe(200);
  expect(chatCalls).toBe(before + 2);
  // What the last check left is spent: no more without the quota service.
  const over = await complete(allowed.key);
  expect(over.status).toBe(503);
  expect(over.body.error.code).toBe("quota_unavailable");

  const stillSpent = await complete(spent.key);
  expect(stillSpent.status).toBe(429);
  expect(stillSpent.body.error.code).toBe("quota_exceeded");
  expect(Number(stillSpent.headers.get("retry-after"))).toBeGreaterThan(0);

  const unknown = await complete(stranger.key);
  expect(unknown.status).toBe(503);
  expect(unknown.body.error).toMatchObject({ type: "service_unavailable" });
  expect(Number(unknown.headers.get("retry-after"))).toBeGreaterThan(0);
  expect(chatCalls).toBe(before + 2);

  const unreachable = await metric("gateway_quota_unreachable_total");
  expect(unreachable).toMatch(/outcome="stale-verdict".*\} 3/);
  expect(unreachable).toMatch(/outcome="refused".*\} 2/);
});

test("during an outage, the tier's replicas together let through no more than the last check left", async () => {
  // Two replicas' checkers on one Redis; the quota service answers once (5 requests left), then
  // cannot be reached.
  const store = redisCache(requireEnv("TEST_REDIS_URL"), `gwquota-race-${randomUUID()}`);
  closers.push(() => store.close());
  const resetAt = new Date(Date.now() + 3_600_000).toISOString();
  let reachable = true;
  const call: QuotaCall = async () => {
    if (!reachable) throw new Error("connect ECONNREFUSED");
    const body = JSON.stringify({
      requests: { limit: 10, used: 5, remaining: 5, resetAt },
      tokens: { limit: 100, used: 0, remaining: 100, resetAt },
      models: [],
    });
    return { statusCode: 200, headers: {}, body: { text: async () => body } };
  };
  const checker = () =>
    createQuotaChecker({
      call,
      cache: store,
      logger: createLogger("quota-race"),
      metrics: quotaMetrics(new Registry()),
    });
  const replicas = [checker(), checker()];
  const who = { userId: `u-${randomUUID()}`, keyId: "k", plan: "tiny" };
  await replicas[0]!.check(who, "first");
  reachable = false;
  const outcomes = await Promise.allSettled(
    Array.from({ length: 20 }, (_, i) => replicas[i % 2]!.check(who, `r${i}`)),
  );
  expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(5);
});
