import { Registry } from "prom-client";
import { createDatabase } from "../../test/servers/index.ts";
import { requireEnv } from "../../test/support/kafka.ts";
import {
  CONSUMER_MIGRATION,
  consumerMetrics,
  listPoison,
  pruneConsumed,
  settleBatch,
  type RawRecord,
} from "./consumer.ts";
import { createLogger } from "./logger.ts";
import { openDb, type Db } from "./sql/db.ts";
import { migrate } from "./sql/migrate.ts";

// The consumer's core on a real PostgreSQL: what happens to a batch when one event's effect fails
// (the others are applied, that one is set aside) and when the database itself is away (nothing is
// decided, so the offset must not move). The Kafka and file paths run in billing's and analytics'
// tests; the last test here is the Kafka path across a rebalance.

process.env["LOG_LEVEL"] ??= "silent";

let url: string;
let db: Db;

const MIGRATIONS = [
  "CREATE TABLE effects (id TEXT PRIMARY KEY, n INTEGER NOT NULL)",
  CONSUMER_MIGRATION,
];

const record = (id: string, n: number, position: string): RawRecord => ({
  topic: "t.events",
  position,
  value: JSON.stringify({ id, type: "thing", at: "2026-01-01T00:00:00Z", data: { n } }),
});

function args(database: Db, failOn: number) {
  return {
    group: "test",
    db: database,
    logger: createLogger("consumer-test"),
    metrics: consumerMetrics(new Registry()),
    maxAttempts: 2,
    decode: (_topic: string, e: { id: string; data: unknown }) => ({
      id: e.id,
      n: (e.data as { n: number }).n,
    }),
    apply: async (tx: Db, items: readonly { id: string; n: number }[]) => {
      for (const item of items) {
        if (item.n === failOn) throw new Error(`cannot apply ${item.n}`);
        await tx.query("INSERT INTO effects (id, n) VALUES ($1, $2)", [item.id, item.n]);
      }
    },
  };
}

beforeAll(async () => {
  url = await createDatabase("consumertest");
  db = await openDb({ service: "svc", domain: "d", databaseUrl: url, dataDir: "" });
  await migrate(db, "svc", MIGRATIONS);
});
afterAll(async () => db?.close());

test("an event whose effect keeps failing is set aside; the rest of its batch is applied once", async () => {
  const batch = [record("e1", 1, "0:1"), record("e2", 13, "0:2"), record("e3", 3, "0:3")];
  await settleBatch(args(db, 13), batch);
  // The same batch again (a redelivery): nothing is applied twice.
  await settleBatch(args(db, 13), batch);
  const effects = await db.query<{ id: string }>("SELECT id FROM effects ORDER BY id");
  expect(effects.map((e) => e.id)).toEqual(["e1", "e3"]);
  const poison = await listPoison(db);
  expect(poison).toEqual([
    expect.objectContaining({
      topic: "t.events",
      position: "0:2",
      eventId: "e2",
      reason: "apply failed: cannot apply 13",
    }),
  ]);
});

test("with the database away nothing is decided: the batch throws and is not set aside", async () => {
  const gone = await openDb({ service: "svc", domain: "d", databaseUrl: url, dataDir: "" });
  await gone.close();
  await expect(settleBatch(args(gone, -1), [record("e9", 9, "0:9")])).rejects.toThrow();
  expect((await listPoison(db)).map((p) => p.eventId)).not.toContain("e9");
});

test("applied ids older than the dedupe window are forgotten", async () => {
  await db.query("INSERT INTO consumed_events (topic, event_id, consumed_at) VALUES ($1, $2, $3)", [
    "t.events",
    "old",
    "2020-01-01T00:00:00.000Z",
  ]);
  expect(await pruneConsumed(db, new Date("2021-01-01T00:00:00Z"))).toBe(1);
  const left = await db.query<{ event_id: string }>(
    "SELECT event_id FROM consumed_events ORDER BY event_id",
  );
  expect(left.map((r) => r.event_id)).toEqual(["e1", "e3"]);
});

test("on real Kafka, a replica joining the group later takes its share and nothing waits behind it", async () => {
  const { Producer, stringSerializers } = await import("@platformatic/kafka");
  const { startConsumer } = await import("./consumer.ts");
  const brokers = requireEnv("TEST_KAFKA_BROKERS");
  const run = `rebalance${Date.now().toString(36)}`;
  const topics = [`${run}.a`, `${run}.b`];
  const applied = new Map<string, number>();
  const member = async (name: string) => {
    const database = await openDb({ service: name, domain: "d", databaseUrl: url, dataDir: "" });
    await migrate(database, name, [CONSUMER_MIGRATION]);
    const consumer = startConsumer({
      group: run,
      topics,
      db: database,
      logger: createLogger("consumer-test"),
      registry: new Registry(),
      kafkaBrokers: brokers,
      eventsDir: "",
      decode: (_topic, e) => e.id,
      apply: async (_tx, ids) => {
        for (const id of ids) applied.set(id, (applied.get(id) ?? 0) + 1);
      },
    });
    return { stop: async () => (await consumer.stop(), await database.close()) };
  };
  const producer = new Producer({
    clientId: run,
    bootstrapBrokers: [brokers],
    serializers: stringSerializers,
  });
  let sent = 0;
  const send = async (n: number) => {
    for (let i = 0; i < n; i++, sent++) {
      const id = `${run}-${sent}`;
      await producer.send({
        messages: [
          {
            topic: topics[sent % 2]!,
            key: id,
            value: JSON.stringify({ id, type: "thing", at: new Date().toISOString(), data: {} }),
          },
        ],
      });
    }
  };
  const first = await member(`${run}one`);
  try {
    await waitFor(async () => (await send(1), applied.size > 0));
    const second = await member(`${run}two`);
    try {
      // Sent while the group rebalances, and after: every event arrives once all settles.
      await send(30);
      await new Promise((ok) => setTimeout(ok, 5_000));
      await send(30);
      await waitFor(async () => applied.size === sent);
    } finally {
      await second.stop();
    }
  } finally {
    await first.stop();
    await producer.close();
  }
  expect(applied.size).toBe(sent);
}, 120_000);

async function waitFor(check: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`not so within ${ms} ms`);
    await new Promise((ok) => setTimeout(ok, 250));
  }
}
