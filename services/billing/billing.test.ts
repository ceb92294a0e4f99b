import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Admin, Producer, stringSerializers } from "@platformatic/kafka";
import { Registry } from "prom-client";
import { createDatabase } from "../../test/servers/index.ts";
import { requireEnv } from "../../test/support/kafka.ts";
import { principal, serveApp, type ServedApp } from "../../test/support/serviceApp.ts";
import type { Usage } from "../quota/contract.ts";
import type { RunningConsumer } from "../shared/consumer.ts";
import { createTopics } from "../shared/kafkaTopics.ts";
import { fileBus, kafkaBus, type EventBus, type PlatformEvent } from "../shared/events.ts";
import { createLogger } from "../shared/logger.ts";
import { openDb, type Db } from "../shared/sql/db.ts";
import { migrate } from "../shared/sql/migrate.ts";
import { billingRoutes, startBillingConsumer } from "./app.ts";
import { USAGE_TOPIC } from "./contract.ts";
import { billingStore, migrations } from "./store.ts";

// Billing on real PostgreSQL and a real Kafka: usage events published to identity.usage as the
// quota service publishes them (PlatformEvent, id = usageId, key = userId), consumed by the
// billing consumer group, summed per user, day, month and model, and read back over HTTP.

process.env["LOG_LEVEL"] ??= "silent";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the assertions check the shape
type Json = Record<string, any>;

const run = randomUUID().slice(0, 8);
const alice = `alice-${run}`;
const bob = `bob-${run}`;
const admin = () => principal(`admin-${run}`, { scopes: ["admin"] });

let brokers: string;
let db: Db;
let bus: EventBus;
let served: ServedApp;
let registry: Registry;
let consumer: RunningConsumer | undefined;

function usage(
  userId: string,
  model: string,
  promptTokens: number,
  completionTokens: number,
  at: string,
  cached = false,
): PlatformEvent {
  const usageId = `usg_${randomUUID()}`;
  // Typed with the producer's own type: a change of quota's event shows here.
  const data: Usage = {
    usageId,
    userId,
    plan: "free",
    model,
    promptTokens,
    completionTokens,
    cached,
    at,
  };
  return { id: usageId, type: "usage.recorded", at, data };
}

async function getJson(path: string, headers: Record<string, string>) {
  const res = await fetch(`${served.url}${path}`, { headers });
  return { status: res.status, body: (await res.json()) as Json };
}

/** Polls until `check` holds (the consumer is asynchronous); fails with the last value. */
async function eventually<T>(read: () => Promise<T>, check: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + 45_000;
  let value = await read();
  while (!check(value)) {
    if (Date.now() > deadline) throw new Error(`not reached: ${JSON.stringify(value)}`);
    await sleep(200);
    value = await read();
  }
  return value;
}

const startConsumer = () =>
  startBillingConsumer({
    db,
    store: billingStore(db),
    logger: createLogger("billing-test"),
    registry,
    kafkaBrokers: brokers,
    eventsDir: "unused",
  });

beforeAll(async () => {
  brokers = requireEnv("TEST_KAFKA_BROKERS");
  const url = await createDatabase("billingtest");
  db = await openDb({ service: "billing", domain: "identity", databaseUrl: url, dataDir: "" });
  await migrate(db, "billing", migrations);
  bus = kafkaBus(brokers, "billing-test");
  // As once billing has run: its consumer creates the topic.
  await createTopics(brokers, [USAGE_TOPIC]);
  registry = new Registry();
  served = await serveApp("billing", (app) => billingRoutes(app, billingStore(db), db));
});

afterAll(async () => {
  await consumer?.stop();
  await served?.close();
  await bus?.close();
  await db?.close();
});

describe("billing on Kafka and PostgreSQL", () => {
  const day1 = "2026-05-14T10:00:00.000Z";
  const day2 = "2026-05-20T23:59:59.000+00:00";
  const a1 = usage(alice, "deepseek-chat", 1000, 500, day1);
  const a2 = usage(alice, "deepseek-chat", 1000, 500, day1, true);
  const a3 = usage(alice, "ngram-3", 200, 100, day2);
  const b1 = usage(bob, "deepseek-chat", 10, 20, day1);
  const malformed = usage(alice, "deepseek-chat", -5, 1, day1);
  const after = usage(alice, "deepseek-reasoner", 1_000_000, 0, day1);

  test("sums usage per user, model, day and month, each event once, poison set aside", async () => {
    // A redelivery (the outbox may publish twice): a1 again, in the same batch and later.
    await bus.publish(
      USAGE_TOPIC,
      [a1, a2, a1, b1].map((e) => ({ key: keyOf(e), event: e })),
    );
    // Poison on alice's partition, then an event after it that must still be applied.
    const producer = new Producer({
      clientId: "billing-test-raw",
      bootstrapBrokers: brokers.split(","),
      serializers: stringSerializers,
    });
    try {
      await producer.send({
        messages: [
          { topic: USAGE_TOPIC, key: alice, value: `not json ${run}` },
          { topic: USAGE_TOPIC, key: alice, value: JSON.stringify(malformed) },
        ],
      });
    } finally {
      await producer.close();
    }
    await bus.publish(
      USAGE_TOPIC,
      [a3, after, a2].map((e) => ({ key: keyOf(e), event: e })),
    );

    consumer = startConsumer();
    const month = await eventually(
      () => getJson("/v1/billing/usage?period=2026-05", principal(alice)),
      (r) => r.body.total?.requests === 4,
    );
    expect(month.status).toBe(200);
    expect(month.body).toMatchObject({
      object: "billing.usage",
      userId: alice,
      period: "2026-05",
      granularity: "month",
      currency: "USD",
    });
    // deepseek-chat: 1000 prompt tokens at $0.28/M + 1000 cached at $0.028/M + 1000 output at
    // $0.42/M = 0.00028 + 0.000028 + 0.00042.
    expect(month.body.models).toEqual([
      {
        model: "deepseek-chat",
        requests: 2,
        cachedRequests: 1,
        promptTokens: 2000,
        cachedPromptTokens: 1000,
        completionTokens: 1000,
        totalTokens: 3000,
        cost: "0.000728000",
      },
      {
        model: "deepseek-reasoner",
        requests: 1,
        cachedRequests: 0,
        promptTokens: 1_000_000,
        cachedPromptTokens: 0,
        completionTokens: 0,
        totalTokens: 1_000_000,
        cost: "0.280000000",
      },
      {
        model: "ngram-3",
        requests: 1,
        cachedRequests: 0,
        promptTokens: 200,
        cachedPromptTokens: 0,
        completionTokens: 100,
        totalTokens: 300,
        cost: "0.000004000",
      },
    ]);
    expect(month.body.total).toEqual({
      requests: 4,
      cachedRequests: 1,
      promptTokens: 1_002_200,
      cachedPromptTokens: 1000,
      completionTokens: 1100,
      totalTokens: 1_003_300,
      cost: "0.280732000",
    });

    const d1 = await getJson("/v1/billing/usage?period=2026-05-14", principal(alice));
    expect(d1.body.granularity).toBe("day");
    expect(d1.body.total.requests).toBe(3);
    const d2 = await getJson("/v1/billing/usage?period=2026-05-20", principal(alice));
    expect(d2.body.models.map((m: Json) => m.model)).toEqual(["ngram-3"]);

    // Each caller sees their own usage only.
    const mine = await getJson("/v1/billing/usage?period=2026-05", principal(bob));
    expect(mine.body.total).toMatchObject({ requests: 1, promptTokens: 10, completionTokens: 20 });

    // The poison stayed visible, and the events after it on the same partition were applied.
    const poison = await eventually(
      () => getJson("/v1/billing/poison?limit=500", admin()),
      (r) => poisonOf(r.body).length === 2,
    );
    const mineOnly = poisonOf(poison.body);
    expect(mineOnly.map((p) => p.reason).sort()).toEqual([
      expect.stringMatching(/^undecodable: .*JSON/),
      expect.stringMatching(/^undecodable: .*promptTokens/),
    ]);
    expect(mineOnly.find((p) => p.eventId !== null)?.eventId).toBe(malformed.id);

    const metrics = await registry.metrics();
    expect(registryCount(metrics, 'outcome="duplicate"')).toBeGreaterThanOrEqual(2);
    expect(registryCount(metrics, 'outcome="poison"')).toBeGreaterThanOrEqual(2);
  });

  test("a replay of the whole topic from the start changes no total", async () => {
    await consumer!.stop();
    consumer = undefined;
    // Forget the group's offsets: the restarted consumer reads every event again.
    const kafkaAdmin = new Admin({
      clientId: "billing-test-admin",
      bootstrapBrokers: brokers.split(","),
    });
    // The broker may still count the stopped member for a moment (its leave is processed
    // asynchronously) and refuses to delete a non-empty group: ask again until it is empty.
    try {
      const deadline = Date.now() + 30_000;
      for (;;) {
        try {
          await kafkaAdmin.deleteGroups({ groups: ["billing"] });
          break;
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await sleep(500);
        }
      }
    } finally {
      await kafkaAdmin.close();
    }
    const before = registryCount(await registry.metrics(), 'outcome="duplicate"');
    const marker = usage(bob, "deepseek-chat", 1, 1, day2);
    await bus.publish(USAGE_TOPIC, [{ key: bob, event: marker }]);
    consumer = startConsumer();
    // The marker is the last event: once bob has it, the replay of everything before is done.
    await eventually(
      () => getJson("/v1/billing/usage?period=2026-05", principal(bob)),
      (r) => r.body.total?.requests === 2,
    );
    const month = await getJson("/v1/billing/usage?period=2026-05", principal(alice));
    expect(month.body.total).toMatchObject({ requests: 4, cost: "0.280732000" });
    // Every earlier event came again and was recognised.
    expect(
      registryCount(await registry.metrics(), 'outcome="duplicate"') - before,
    ).toBeGreaterThanOrEqual(7);
  });

  test("an admin reads any user's usage; others may not", async () => {
    const other = await getJson(`/v1/billing/users/${alice}/usage?period=2026-05`, admin());
    expect(other.status).toBe(200);
    expect(other.body.total.requests).toBe(4);
    const refused = await getJson(
      `/v1/billing/users/${alice}/usage?period=2026-05`,
      principal(bob),
    );
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe("admin_required");
    expect((await getJson("/v1/billing/poison", principal(bob))).status).toBe(403);
  });

  test("every query parameter is validated", async () => {
    const cases: Array<[string, string]> = [
      ["/v1/billing/usage?period=2026-13", "period"],
      ["/v1/billing/usage?period=2026-02-30", "period"],
      ["/v1/billing/usage?period=May", "period"],
      ["/v1/billing/usage?period=2026-05&user=bob", "query"],
      ["/v1/billing/poison?limit=0", "limit"],
      ["/v1/billing/prices?x=1", "query"],
      [`/v1/billing/users/${encodeURIComponent("a b")}/usage`, "userId"],
    ];
    for (const [path, param] of cases) {
      const r = await getJson(
        path,
        path.includes("poison") || path.includes("users") ? admin() : principal(alice),
      );
      expect([path, r.status, r.body.error?.param]).toEqual([path, 400, param]);
    }
    expect((await fetch(`${served.url}/v1/billing/usage`)).status).toBe(401);
    // Without a period: the current month.
    const now = await getJson("/v1/billing/usage", principal(alice));
    expect(now.body.period).toBe(new Date().toISOString().slice(0, 7));
    const prices = await getJson("/v1/billing/prices", principal(alice));
    expect(prices.body.models["deepseek-chat"]).toEqual({
      inputCacheHit: 0.028,
      inputCacheMiss: 0.28,
      output: 0.42,
    });
  });
});

describe("billing without Kafka: the local event file", () => {
  test("two replicas tail the file; each event counts once", async () => {
    const dir = mkdtempSync(join(tmpdir(), "billing-file-"));
    const fileDb = await openDb({ service: "billing", domain: "identity", dataDir: dir });
    const replicas: RunningConsumer[] = [];
    try {
      await migrate(fileDb, "billing", migrations);
      const files = fileBus(`${dir}/events`);
      const user = `carol-${run}`;
      const events = Array.from({ length: 30 }, () =>
        usage(user, "deepseek-chat", 10, 10, "2026-06-01T00:00:00Z"),
      );
      await files.publish(
        USAGE_TOPIC,
        events.slice(0, 10).map((e) => ({ key: user, event: e })),
      );
      for (let i = 0; i < 2; i++) {
        replicas.push(
          startBillingConsumer({
            db: fileDb,
            store: billingStore(fileDb),
            logger: createLogger("billing-file-test"),
            registry: new Registry(),
            eventsDir: `${dir}/events`,
          }),
        );
      }
      // Appended while they run, with a redelivery of the first ten.
      await files.publish(
        USAGE_TOPIC,
        events.slice(10).map((e) => ({ key: user, event: e })),
      );
      await files.publish(
        USAGE_TOPIC,
        events.slice(0, 10).map((e) => ({ key: user, event: e })),
      );
      const store = billingStore(fileDb);
      const report = await eventually(
        async () => {
          const [row] = await fileDb.query<{ n: number }>(
            "SELECT COUNT(*) AS n FROM consumed_events WHERE topic = $1",
            [USAGE_TOPIC],
          );
          const [at] = await fileDb.query<{ position: number }>(
            "SELECT position FROM consumer_file_positions WHERE topic = $1",
            [USAGE_TOPIC],
          );
          return {
            applied: Number(row?.n),
            unread: statSync(`${dir}/events/${USAGE_TOPIC}.jsonl`).size - Number(at?.position ?? 0),
            report: await store.report(user, "2026-06"),
          };
        },
        // Every line read, the redelivered ten included.
        (r) => r.applied === 30 && r.unread === 0,
      );
      expect(report.report.total).toMatchObject({ requests: 30, promptTokens: 300 });
    } finally {
      await Promise.all(replicas.map((r) => r.stop()));
      await fileDb.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function keyOf(e: PlatformEvent): string {
  return (e.data as { userId: string }).userId;
}

function poisonOf(body: Json): Json[] {
  return (body.data as Json[]).filter(
    (p) => p.payload === `not json ${run}` || String(p.payload).includes(alice),
  );
}

function registryCount(text: string, label: string): number {
  return text
    .split("\n")
    .filter((l) => l.startsWith("consumer_events_total") && l.includes(label))
    .reduce((sum, l) => sum + Number(l.split(" ").pop()), 0);
}
