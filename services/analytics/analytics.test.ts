import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Admin, Producer, stringSerializers } from "@platformatic/kafka";
import { Registry } from "prom-client";
import { createDatabase } from "../../test/servers/index.ts";
import { requireEnv } from "../../test/support/kafka.ts";
import { principal, serveApp, type ServedApp } from "../../test/support/serviceApp.ts";
import type { UsageRecord } from "../chat/store.ts";
import type { RequestEventData } from "../gateway/requestEvents.ts";
import { requestEvents } from "../gateway/requestEvents.ts";
import type { Order } from "../orders/store.ts";
import { orderStore, migrations as orderMigrations } from "../orders/store.ts";
import type { RunningConsumer } from "../shared/consumer.ts";
import { createTopics } from "../shared/kafkaTopics.ts";
import { fileBus, kafkaBus, type EventBus, type PlatformEvent } from "../shared/events.ts";
import { createLogger } from "../shared/logger.ts";
import { relayOnce } from "../shared/outbox.ts";
import { openDb, type Db } from "../shared/sql/db.ts";
import { migrate } from "../shared/sql/migrate.ts";
import { analyticsRoutes, startAnalyticsConsumer } from "./app.ts";
import { ORDERS_TOPIC, REQUESTS_TOPIC, USAGE_TOPIC } from "./contract.ts";
import { analyticsStore, migrations } from "./store.ts";

// Analytics on real PostgreSQL and a real Kafka. Events in the shapes their producers publish
// (typed with the producers' own types) fill a fixed historic window, so that the figures are
// exact even while other tests publish on the same topics; the gateway's request-events module
// and the orders service's outbox publish for real beside them.

process.env["LOG_LEVEL"] ??= "silent";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the assertions check the shape
type Json = Record<string, any>;

const run = randomUUID().slice(0, 8);
const admin = () => principal(`admin-${run}`, { scopes: ["admin"] });
const WINDOW = "from=2020-03-01T00:00:00Z&to=2020-03-02T00:00:00Z";
const at = (minute: number) => new Date(Date.UTC(2020, 2, 1, 10, minute)).toISOString();

let brokers: string;
let dbUrl: string;
let db: Db;
let bus: EventBus;
let served: ServedApp;
let registry: Registry;
let consumer: RunningConsumer | undefined;

const event = (type: string, when: string, data: unknown): PlatformEvent => ({
  id: randomUUID(),
  type,
  at: when,
  data,
});

function request(route: string, status: number, latencyMs: number, decision: string | null) {
  const data: RequestEventData = {
    requestId: randomUUID(),
    method: "GET",
    route,
    status,
    upstream: "orders",
    decision,
    latencyMs,
  };
  return event("request.completed", at(latencyMs % 60), data);
}

function usage(model: string, promptTokens: number, completionTokens: number, cached: boolean) {
  const data: UsageRecord = {
    requestId: randomUUID(),
    userId: `user-${promptTokens % 2}`,
    keyId: "key_1",
    plan: "free",
    model,
    modelVersion: `${model}:1`,
    backend: "builtin",
    promptTokens,
    completionTokens,
    totalTokens: promptTokens + completionTokens,
    cached,
    stream: false,
    finishReason: "stop",
    conversationId: null,
  };
  return event("chat.usage", at(5), data);
}

function order(userId: string, quantity: number) {
  const data: Order = {
    id: `ord_${randomUUID().replace(/-/g, "").slice(0, 24)}`,
    object: "order",
    userId,
    item: "tea",
    quantity,
    status: "created",
    createdAt: at(7),
  };
  return event("order.created", at(7), data);
}

async function getJson(path: string, headers: Record<string, string> = admin()) {
  const res = await fetch(`${served.url}${path}`, { headers });
  return { status: res.status, body: (await res.json()) as Json };
}

// Each test may wait for `eventually` twice over.
jest.setTimeout(320_000);

/**
 * A bound on liveness, not a timing assertion: locally the figures arrive within 2 s, but in CI
 * this file runs beside the Docker stack's deployment (34 containers starting on two cores), and
 * once nothing arrived within two 45 s waits there. Whether that was load or a consumer that
 * did not recover from a failed first join is not known; a wait this long tells them apart.
 */
async function eventually<T>(read: () => Promise<T>, check: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + 150_000;
  let value = await read();
  while (!check(value)) {
    if (Date.now() > deadline) throw new Error(`not reached: ${JSON.stringify(value)}`);
    await sleep(200);
    value = await read();
  }
  return value;
}

const start = () =>
  startAnalyticsConsumer({
    db,
    store: analyticsStore(db),
    logger: createLogger("analytics-test"),
    registry,
    kafkaBrokers: brokers,
    eventsDir: "unused",
  });

beforeAll(async () => {
  brokers = requireEnv("TEST_KAFKA_BROKERS");
  dbUrl = await createDatabase("analyticstest");
  db = await openDb({ service: "analytics", domain: "business", databaseUrl: dbUrl, dataDir: "" });
  await migrate(db, "analytics", migrations);
  bus = kafkaBus(brokers, "analytics-test");
  registry = new Registry();
  // As once the service has run: its consumer creates them.
  await createTopics(brokers, [REQUESTS_TOPIC, USAGE_TOPIC, ORDERS_TOPIC]);
  served = await serveApp("analytics", (app) => analyticsRoutes(app, analyticsStore(db), db));
});

afterAll(async () => {
  await consumer?.stop();
  await served?.close();
  await bus?.close();
  await db?.close();
});

describe("analytics on Kafka and PostgreSQL", () => {
  // Route A: 20 requests, latencies 1..20 ms, two of them 5xx; route B: 5 requests, one 404.
  const routeA = Array.from({ length: 20 }, (_, i) =>
    request("/v1/orders", i === 3 || i === 7 ? 503 : 200, i + 1, i === 3 ? "fallback" : null),
  );
  const routeB = Array.from({ length: 5 }, (_, i) =>
    request("/v1/articles", i === 0 ? 404 : 200, 100 + i, i === 1 ? "cache:hit" : null),
  );
  const usages = [
    usage(`model-a-${run}`, 10, 5, false),
    usage(`model-a-${run}`, 11, 6, true),
    usage(`model-b-${run}`, 100, 50, false),
  ];
  const orders = [order("u1", 2), order("u1", 3), order("u2", 5)];

  test("counts, rates, exact percentiles, top routes, usage per model and orders over a window", async () => {
    const publish = (topic: string, events: PlatformEvent[]) =>
      bus.publish(
        topic,
        events.map((e) => ({ key: e.id, event: e })),
      );
    await publish(REQUESTS_TOPIC, [...routeA, ...routeB, routeA[0]!]);
    await publish(USAGE_TOPIC, [...usages, usages[2]!]);
    // A poison message on each of two topics, then more events that must still be counted.
    const producer = new Producer({
      clientId: "analytics-test-raw",
      bootstrapBrokers: brokers.split(","),
      serializers: stringSerializers,
    });
    try {
      await producer.send({
        messages: [
          { topic: REQUESTS_TOPIC, key: "x", value: `not json ${run}` },
          {
            topic: ORDERS_TOPIC,
            key: "x",
            value: JSON.stringify(event("order.created", at(1), { id: `bad-${run}`, userId: "u" })),
          },
        ],
      });
    } finally {
      await producer.close();
    }
    await publish(ORDERS_TOPIC, [...orders, orders[0]!]);

    consumer = start();
    const requests = await eventually(
      () => getJson(`/v1/analytics/requests?${WINDOW}&top=5`),
      (r) => r.body.count === 25,
    );
    expect(requests.status).toBe(200);
    expect(requests.body).toMatchObject({
      object: "analytics.requests",
      window: { from: "2020-03-01T00:00:00.000Z", to: "2020-03-02T00:00:00.000Z" },
      count: 25,
      errors: 2,
      errorRate: 0.08,
      clientErrors: 1,
      clientErrorRate: 0.04,
      // Nearest rank over 1..20 and 100..104: the 13th and the 24th of 25.
      latencyMs: { p50: 13, p95: 103 },
      decisions: { fallback: 1, "cache:hit": 1 },
    });
    expect(requests.body.perSecond).toBeCloseTo(25 / 86_400, 5);
    expect(requests.body.topRoutes).toEqual([
      {
        route: "/v1/orders",
        count: 20,
        errors: 2,
        errorRate: 0.1,
        latencyMs: { p50: 10, p95: 19 },
      },
      {
        route: "/v1/articles",
        count: 5,
        errors: 0,
        errorRate: 0,
        latencyMs: { p50: 102, p95: 104 },
      },
    ]);
    const top1 = await getJson(`/v1/analytics/requests?${WINDOW}&top=1`);
    expect(top1.body.topRoutes.map((r: Json) => r.route)).toEqual(["/v1/orders"]);

    const perModel = await eventually(
      () => getJson(`/v1/analytics/usage?${WINDOW}`),
      (r) => r.body.models?.length === 2,
    );
    expect(perModel.body.models).toEqual([
      {
        model: `model-a-${run}`,
        requests: 2,
        cachedRequests: 1,
        promptTokens: 21,
        completionTokens: 11,
        totalTokens: 32,
        users: 2,
      },
      {
        model: `model-b-${run}`,
        requests: 1,
        cachedRequests: 0,
        promptTokens: 100,
        completionTokens: 50,
        totalTokens: 150,
        users: 1,
      },
    ]);

    const orderFigures = await eventually(
      () => getJson(`/v1/analytics/orders?${WINDOW}`),
      (r) => r.body.count === 3,
    );
    expect(orderFigures.body).toMatchObject({ count: 3, quantity: 10, customers: 2 });

    const poison = await eventually(
      () => getJson("/v1/analytics/poison?limit=500"),
      (r) => mine(r.body).length === 2,
    );
    expect(
      mine(poison.body)
        .map((p) => p.topic)
        .sort(),
    ).toEqual([ORDERS_TOPIC, REQUESTS_TOPIC]);
  });

  test("a replay of every topic from the start changes no figure", async () => {
    await consumer!.stop();
    consumer = undefined;
    const kafkaAdmin = new Admin({
      clientId: "analytics-test-admin",
      bootstrapBrokers: brokers.split(","),
    });
    try {
      await kafkaAdmin.deleteGroups({ groups: ["analytics"] });
    } finally {
      await kafkaAdmin.close();
    }
    const marker = order("u3", 1);
    await bus.publish(ORDERS_TOPIC, [{ key: marker.id, event: marker }]);
    consumer = start();
    await eventually(
      () => getJson(`/v1/analytics/orders?${WINDOW}`),
      (r) => r.body.count === 4,
    );
    // The other topics are replayed too, at their own pace: wait until every event of this test
    // has come again (26 requests, 4 usages, 4 orders, besides the 3 duplicates of the first run).
    await eventually(
      async () => duplicates(await registry.metrics()),
      (n) => n >= 3 + 26 + 4 + 4,
    );
    expect((await getJson(`/v1/analytics/requests?${WINDOW}`)).body.count).toBe(25);
    expect((await getJson(`/v1/analytics/usage?${WINDOW}`)).body.models[0].requests).toBe(2);
  });

  test("the gateway's request events and the orders outbox arrive for real", async () => {
    // The module the business gateway uses, on a real bus, in front of a small app.
    const route = `/v1/at${run}`;
    const events = requestEvents({
      bus,
      topic: REQUESTS_TOPIC,
      registry: new Registry(),
      logger: createLogger("gateway-test"),
    });
    const gateway = await serveApp("gateway", (app) => {
      app.use(events.record);
      app.get("/v1/probe", (req, res) => {
        res.locals.route = route;
        res.status(req.query.fail ? 502 : 200).json({ ok: true });
      });
    });
    const from = new Date(Date.now() - 60_000).toISOString();
    try {
      for (let i = 0; i < 4; i++) await fetch(`${gateway.url}/v1/probe${i === 0 ? "?fail=1" : ""}`);
      await fetch(`${gateway.url}/healthz`);
    } finally {
      await gateway.close();
      await events.close();
    }
    // Orders written by the orders service's store reach analytics through its outbox.
    const ordersDb = await openDb({
      service: "orders",
      domain: "business",
      databaseUrl: dbUrl,
      dataDir: "",
    });
    try {
      await migrate(ordersDb, "orders", orderMigrations);
      await orderStore(ordersDb).create(`buyer-${run}`, { item: "tea", quantity: 7 });
      expect(await relayOnce(ordersDb, bus)).toBe(1);
    } finally {
      await ordersDb.close();
    }
    const now = () =>
      `from=${encodeURIComponent(from)}&to=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`;
    const live = await eventually(
      () => getJson(`/v1/analytics/requests?${now()}&top=50`),
      (r) => r.body.topRoutes?.some((t: Json) => t.route === route && t.count === 4),
    );
    expect(live.body.topRoutes.find((t: Json) => t.route === route)).toMatchObject({
      count: 4,
      errors: 1,
      errorRate: 0.25,
    });
    // The health check was not traffic.
    expect(live.body.topRoutes.some((t: Json) => t.route === "health")).toBe(false);
    const recent = await eventually(
      () => getJson(`/v1/analytics/orders?${now()}`),
      (r) => r.body.quantity >= 7,
    );
    expect(recent.body.count).toBeGreaterThanOrEqual(1);
  });

  test("queries need an admin key and valid parameters", async () => {
    expect((await getJson(`/v1/analytics/requests?${WINDOW}`, principal("bob"))).status).toBe(403);
    expect((await fetch(`${served.url}/v1/analytics/usage`)).status).toBe(401);
    const cases: Array<[string, string]> = [
      ["/v1/analytics/requests?from=yesterday", "from"],
      ["/v1/analytics/requests?to=2020-03-01", "to"],
      ["/v1/analytics/requests?from=2020-03-02T00:00:00Z&to=2020-03-01T00:00:00Z", "from"],
      ["/v1/analytics/requests?from=2020-01-01T00:00:00Z&to=2020-03-01T00:00:00Z", "from"],
      [`/v1/analytics/requests?${WINDOW}&top=0`, "top"],
      [`/v1/analytics/requests?${WINDOW}&top=51`, "top"],
      [`/v1/analytics/requests?${WINDOW}&route=x`, "query"],
      [`/v1/analytics/usage?${WINDOW}&top=5`, "query"],
      ["/v1/analytics/orders?from=2020-03-01T00:00:00Z&from=2020-03-01T01:00:00Z", "from"],
      ["/v1/analytics/poison?limit=1000", "limit"],
    ];
    for (const [path, param] of cases) {
      const r = await getJson(path);
      expect([path, r.status, r.body.error?.param]).toEqual([path, 400, param]);
    }
    // No window: the last hour.
    const lastHour = await getJson("/v1/analytics/orders");
    const { from, to } = lastHour.body.window;
    expect(Date.parse(to) - Date.parse(from)).toBe(3_600_000);
  });

  test("facts older than the longest window are pruned", async () => {
    await analyticsStore(db).prune(new Date("2020-06-01T00:00:00Z"));
    expect((await getJson(`/v1/analytics/requests?${WINDOW}`)).body.count).toBe(0);
    expect((await getJson(`/v1/analytics/orders?${WINDOW}`)).body.count).toBe(0);
  });
});

describe("analytics without Kafka: the local event files", () => {
  test("the gateway's request events in a file are counted", async () => {
    const dir = mkdtempSync(join(tmpdir(), "analytics-file-"));
    const fileDb = await openDb({ service: "analytics", domain: "business", dataDir: dir });
    const files = fileBus(`${dir}/events`);
    let running: RunningConsumer | undefined;
    try {
      await migrate(fileDb, "analytics", migrations);
      await files.publish(
        REQUESTS_TOPIC,
        Array.from({ length: 10 }, (_, i) => request("/v1/chat", 200, i + 1, null)).map((e) => ({
          key: e.id,
          event: e,
        })),
      );
      const store = analyticsStore(fileDb);
      running = startAnalyticsConsumer({
        db: fileDb,
        store,
        logger: createLogger("analytics-file-test"),
        registry: new Registry(),
        eventsDir: `${dir}/events`,
      });
      const figures = await eventually(
        () =>
          store.requests({
            from: new Date("2020-03-01T00:00:00Z"),
            to: new Date("2020-03-02T00:00:00Z"),
            top: 10,
          }),
        (r) => r.count === 10,
      );
      expect(figures.latencyMs).toEqual({ p50: 5, p95: 10 });
    } finally {
      await running?.stop();
      await fileDb.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function mine(body: Json): Json[] {
  return (body.data as Json[]).filter(
    (p) => p.payload === `not json ${run}` || String(p.payload).includes(`bad-${run}`),
  );
}

function duplicates(text: string): number {
  return text
    .split("\n")
    .filter((l) => l.startsWith("consumer_events_total") && l.includes('outcome="duplicate"'))
    .reduce((sum, l) => sum + Number(l.split(" ").pop()), 0);
}
