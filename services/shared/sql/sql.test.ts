import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDatabase } from "../../../test/servers/index.ts";
import { fileBus, kafkaBus, type PlatformEvent } from "../events.ts";
import { OUTBOX_MIGRATION, enqueueEvent, relayOnce } from "../outbox.ts";
import { readTopic, requireEnv } from "../../../test/support/kafka.ts";
import { openDb, type Db } from "./db.ts";
import { migrate } from "./migrate.ts";

// The same behaviour is required of both engines: PostgreSQL (a real server) and the embedded
// SQLite default. Each case runs against both.

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const engines: Array<[string, () => Promise<{ open: () => Promise<Db> }>]> = [
  [
    "postgres",
    async () => {
      const url = await createDatabase("sqltest");
      return {
        open: () => openDb({ service: "svc", domain: "d", databaseUrl: url, dataDir: "unused" }),
      };
    },
  ],
  [
    "sqlite",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "sqltest-"));
      dirs.push(dir);
      return { open: () => openDb({ service: "svc", domain: "d", dataDir: dir }) };
    },
  ],
];

const MIGRATIONS = [
  "CREATE TABLE items (id TEXT PRIMARY KEY, n INTEGER NOT NULL)",
  "ALTER TABLE items ADD COLUMN label TEXT; CREATE INDEX items_n ON items (n)",
];

describe.each(engines)("%s", (engine, prepare) => {
  let factory: { open: () => Promise<Db> };
  let db: Db;

  beforeAll(async () => {
    factory = await prepare();
    db = await factory.open();
  });
  afterAll(async () => db?.close());

  test("replicas migrating at once apply each migration exactly once", async () => {
    const others = await Promise.all([factory.open(), factory.open(), factory.open()]);
    const applied = await Promise.all([db, ...others].map((d) => migrate(d, "svc", MIGRATIONS)));
    expect(applied.reduce((a, b) => a + b, 0)).toBe(MIGRATIONS.length);
    expect(await migrate(db, "svc", MIGRATIONS)).toBe(0);
    await Promise.all(others.map((d) => d.close()));
    const versions = await db.query<{ version: number | string }>(
      "SELECT version FROM schema_migrations ORDER BY version",
    );
    expect(versions.map((v) => Number(v.version))).toEqual([1, 2]);
  });

  test("$n placeholders bind values", async () => {
    await db.query("INSERT INTO items (id, n, label) VALUES ($1, $2, $3)", ["a", 1, "first"]);
    expect(await db.query("SELECT id, n, label FROM items WHERE id = $1", ["a"])).toEqual([
      { id: "a", n: 1, label: "first" },
    ]);
  });

  test("a transaction that throws leaves nothing behind", async () => {
    await expect(
      db.transaction(async (tx) => {
        await tx.query("INSERT INTO items (id, n) VALUES ($1, $2)", ["rolled-back", 2]);
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await db.query("SELECT id FROM items WHERE id = $1", ["rolled-back"])).toEqual([]);
  });

  test("concurrent transactions do not interleave their statements", async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        db.transaction(async (tx) => {
          const [row] = await tx.query<{ c: number | string }>(
            "SELECT COUNT(*) AS c FROM items WHERE n = $1",
            [99],
          );
          await tx.query("INSERT INTO items (id, n, label) VALUES ($1, $2, $3)", [
            `c${i}`,
            99,
            String(row!.c),
          ]);
        }),
      ),
    );
    const labels = await db.query<{ label: string }>("SELECT label FROM items WHERE n = $1", [99]);
    // Under PostgreSQL's read committed two transactions may count alike; SQLite's lock serialises them.
    if (engine === "sqlite")
      expect(labels.map((l) => Number(l.label)).sort((a, b) => a - b)).toEqual([
        ...Array(20).keys(),
      ]);
    expect(labels).toHaveLength(20);
  });

  test("the outbox relays each event once and marks it published", async () => {
    await migrate(db, "svc", [...MIGRATIONS, OUTBOX_MIGRATION]);
    const dir = mkdtempSync(join(tmpdir(), "outbox-"));
    dirs.push(dir);
    const published: PlatformEvent[] = [];
    const bus = fileBus(dir);
    const recording = {
      ...bus,
      publish: async (
        topic: string,
        messages: readonly { key: string; event: PlatformEvent }[],
      ) => {
        published.push(...messages.map((m) => m.event));
        await bus.publish(topic, messages);
      },
    };
    const events = await db.transaction(async (tx) => {
      const written: PlatformEvent[] = [];
      for (const n of [1, 2, 3])
        written.push(await enqueueEvent(tx, "t", `k${n}`, "thing.happened", { n }));
      return written;
    });
    expect(await relayOnce(db, recording)).toBe(3);
    expect(await relayOnce(db, recording)).toBe(0);
    expect(published.map((e) => e.id).sort()).toEqual(events.map((e) => e.id).sort());
  });
});

describe("outbox to a real Kafka", () => {
  test("events written in a transaction arrive on the topic", async () => {
    const brokers = requireEnv("TEST_KAFKA_BROKERS");
    const dir = mkdtempSync(join(tmpdir(), "outbox-kafka-"));
    dirs.push(dir);
    const db = await openDb({ service: "svc", domain: "d", dataDir: dir });
    const bus = kafkaBus(brokers, "outbox-test");
    try {
      await migrate(db, "svc", [OUTBOX_MIGRATION]);
      const topic = `outbox-test-${Date.now()}`;
      const event = await db.transaction((tx) =>
        enqueueEvent(tx, topic, "k", "order.created", { id: "o1" }),
      );
      expect(await relayOnce(db, bus)).toBe(1);
      const values = await readTopic(brokers, topic, (v) => v.length >= 1);
      expect(JSON.parse(values[0]!)).toEqual(event);
    } finally {
      await bus.close();
      await db.close();
    }
  });
});

test("PostgreSQL: replicas opening a new service's schema at once all succeed", async () => {
  const url = await createDatabase("schemarace");
  // Each checks that the schema is missing before one of them commits it: every loser must
  // take the race's error for what it is, not fail its start.
  for (let round = 0; round < 5; round++) {
    const service = `race${round}`;
    const dbs = await Promise.all(
      Array.from({ length: 8 }, () =>
        openDb({ service, domain: "d", databaseUrl: url, dataDir: "" }),
      ),
    );
    expect(await Promise.all(dbs.map((d) => d.ping()))).toEqual(Array(8).fill(true));
    await Promise.all(dbs.map((d) => d.close()));
  }
});
