import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Producer, stringSerializers } from "@platformatic/kafka";
import express from "express";
import { pino } from "pino";
import { Registry } from "prom-client";
import { createDatabase } from "../../test/servers/index.ts";
import { requireEnv } from "../../test/support/kafka.ts";
import { ApiError } from "../shared/errors.ts";
import { openDb } from "../shared/sql/db.ts";
import { migrate } from "../shared/sql/migrate.ts";
import {
  DLQ_MIGRATIONS,
  dlqAdminHandler,
  openDeadLetterQueue,
  parkedRequest,
  trackingIdFor,
  writeQueueOf,
  type DeadLetterQueue,
  type Delivery,
  type ParkedRequest,
} from "./dlq.ts";

// The same behaviour is required of every store: Kafka (with the Redis dedupe ledger), and the
// SQL store on SQLite (the `npm start` default) and PostgreSQL. Each test takes a domain of its
// own, so topics, consumer groups and rows never mix.

const logger = pino({ level: "silent" });
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

interface Store {
  /** One gateway replica's view of the domain's queue; replicas of one domain share the store. */
  open(domain: string, registry?: Registry): Promise<DeadLetterQueue>;
  /** Writes a message the replayer cannot parse, behind the DLQ's back. */
  injectGarbage(domain: string): Promise<void>;
}

const stores: Array<[string, () => Promise<Store>]> = [
  [
    "kafka",
    async () => {
      const brokers = requireEnv("TEST_KAFKA_BROKERS");
      return {
        open: (domain, registry = new Registry()) =>
          openDeadLetterQueue({
            domain,
            kafkaBrokers: brokers,
            redisUrl: requireEnv("TEST_REDIS_URL"),
            registry,
            logger,
            dataDir: "unused",
          }),
        async injectGarbage(domain) {
          const producer = new Producer({
            clientId: "dlq-test",
            bootstrapBrokers: brokers.split(","),
            serializers: stringSerializers,
          });
          await producer.send({ messages: [{ topic: `${domain}.dlq`, key: "x", value: "{not" }] });
          await producer.close();
        },
      };
    },
  ],
  [
    "sqlite",
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), "dlq-"));
      dirs.push(dataDir);
      return sqlStore({ dataDir });
    },
  ],
  [
    "postgres",
    async () => sqlStore({ dataDir: "unused", databaseUrl: await createDatabase("dlqtest") }),
  ],
];

function sqlStore(where: { dataDir: string; databaseUrl?: string }): Store {
  return {
    open: (domain, registry = new Registry()) =>
      openDeadLetterQueue({ domain, registry, logger, ...where }),
    async injectGarbage(domain) {
      const db = await openDb({ service: "gateway-dlq", domain, ...where });
      await migrate(db, "gateway-dlq", DLQ_MIGRATIONS);
      await db.query(
        `INSERT INTO dlq_messages (tracking_id, domain, service, fingerprint, payload, state, attempts, next_attempt_at, parked_at)
         VALUES ('garbage', $1, 'orders', '', '{not', 'parked', 0, 0, $2)`,
        [domain, new Date().toISOString()],
      );
      await db.close();
    },
  };
}

const SECRET = "dlq-test-principal-secret-0123456789";

function request(domain: string, key: string, body: object = { item: key }): ParkedRequest {
  return parkedRequest({
    domain,
    service: "orders",
    method: "POST",
    path: "/v1/orders",
    principal: "user-1",
    idempotencyKey: key,
    headers: {
      "content-type": "application/json",
      "x-principal-user": "user-1",
      authorization: "Bearer sk-secret",
    },
    body: Buffer.from(JSON.stringify(body)),
    secret: SECRET,
  });
}

/** Polls `check` until it holds; the test's own time-out bounds the wait. */
async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 45_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(50);
  }
}

/** A stand-in service: records each delivered key; `answer` decides the outcome per call. */
function recorder(answer: (req: ParkedRequest, call: number) => Delivery = () => delivered) {
  const calls = new Map<string, number>();
  const deliveries = new Map<string, number>();
  const deliver = async (req: ParkedRequest): Promise<Delivery> => {
    const call = (calls.get(req.idempotencyKey) ?? 0) + 1;
    calls.set(req.idempotencyKey, call);
    const d = answer(req, call);
    if (d.outcome === "delivered")
      deliveries.set(req.idempotencyKey, (deliveries.get(req.idempotencyKey) ?? 0) + 1);
    return d;
  };
  return { deliver, calls, deliveries };
}

const delivered: Delivery = { outcome: "delivered", status: 201 };
const fast = { baseMs: 20, maxMs: 200, pollMs: 50 };

describe.each(stores)("dead-letter queue on %s", (_name, prepare) => {
  let store: Store;
  const open: DeadLetterQueue[] = [];
  const replica = async (domain: string) => {
    const dlq = await store.open(domain);
    open.push(dlq);
    return dlq;
  };
  const newDomain = () => `dlqtest-${randomBytes(4).toString("hex")}`;

  beforeAll(async () => {
    store = await prepare();
  });
  afterAll(async () => {
    await Promise.all(open.map((dlq) => dlq.close()));
  });

  test("N parked writes are each delivered exactly once, and the depth returns to 0", async () => {
    const domain = newDomain();
    const registry = new Registry();
    const dlq = await store.open(domain, registry);
    open.push(dlq);
    const keys = Array.from({ length: 8 }, (_, i) => `key-${i}`);
    for (const key of keys) {
      expect(await dlq.park(request(domain, key))).toEqual({
        trackingId: trackingIdFor(domain, "user-1", key),
        status: "parked",
      });
    }
    expect(await dlq.depth()).toBe(keys.length);

    const service = recorder();
    const stop = dlq.startReplayer(service.deliver, fast);
    await until("every key is delivered", () => service.deliveries.size === keys.length);
    await until("the depth is 0", async () => (await dlq.depth()) === 0);
    await stop();
    expect([...service.deliveries].sort()).toEqual(keys.map((k) => [k, 1]));
    const metrics = await registry.metrics();
    expect(metrics).toContain(`gateway_dlq_parked_total{service="orders"} ${keys.length}`);
    expect(metrics).toContain(
      `gateway_dlq_replayed_total{service="orders",outcome="delivered"} ${keys.length}`,
    );
    expect(metrics).toContain(`gateway_dlq_depth{domain="${domain}"} 0`);
  });

  test("the same key parked by two replicas gets one tracking id and one delivery", async () => {
    const domain = newDomain();
    const [a, b] = [await replica(domain), await replica(domain)];
    const first = await a.park(request(domain, "same"));
    const again = await b.park(request(domain, "same"));
    expect(first.status).toBe("parked");
    expect(again).toEqual({ trackingId: first.trackingId, status: "duplicate" });
    // A different request under a key already held is refused, as the service would.
    expect(await b.park(request(domain, "same", { item: "other" }))).toEqual({
      trackingId: first.trackingId,
      status: "conflict",
    });
    await a.park(request(domain, "marker"));

    const service = recorder();
    const stop = a.startReplayer(service.deliver, fast);
    await until("both keys are delivered", () => service.deliveries.size === 2);
    await until("the depth is 0", async () => (await a.depth()) === 0);
    await stop();
    expect(service.deliveries.get("same")).toBe(1);
    expect(service.calls.get("same")).toBe(1);
  });

  test("a write whose service is still down is retried, not lost, and other writes pass it", async () => {
    const domain = newDomain();
    const dlq = await replica(domain);
    await dlq.park(request(domain, "down"));
    await dlq.park(request(domain, "up"));
    // "down" answers retry twice, and then until "up" went through: if "up" waited behind it,
    // neither would ever be delivered.
    const service = recorder((req, call) =>
      req.idempotencyKey === "down" && (call <= 2 || !service.deliveries.has("up"))
        ? { outcome: "retry", status: 503, reason: "service answered 503" }
        : delivered,
    );
    const stop = dlq.startReplayer(service.deliver, fast);
    await until("both keys are delivered", () => service.deliveries.size === 2);
    await until("the depth is 0", async () => (await dlq.depth()) === 0);
    await stop();
    expect(service.calls.get("down")).toBeGreaterThanOrEqual(3);
    expect(service.deliveries.get("down")).toBe(1);
    expect(service.deliveries.get("up")).toBe(1);
  });

  test("a poison message is kept and listed, and never sent again", async () => {
    const domain = newDomain();
    const dlq = await replica(domain);
    const parked = await dlq.park(request(domain, "bad"));
    const service = recorder((req) =>
      req.idempotencyKey === "bad"
        ? { outcome: "poison", status: 400, reason: '{"error":"quantity"}' }
        : delivered,
    );
    const stop = dlq.startReplayer(service.deliver, fast);
    await until("the poison message is listed", async () => (await dlq.poison()).length === 1);
    // A write parked after it is delivered: the replayer went past the poison message.
    await dlq.park(request(domain, "after"));
    await until("the next write is delivered", () => service.deliveries.has("after"));
    await until("the depth is 0", async () => (await dlq.depth()) === 0);
    await stop();
    const [entry] = await dlq.poison();
    expect(entry).toMatchObject({
      trackingId: parked.trackingId,
      service: "orders",
      status: 400,
      reason: '{"error":"quantity"}',
      request: { idempotencyKey: "bad", path: "/v1/orders" },
    });
    expect(service.calls.get("bad")).toBe(1);
  });

  test("an unparseable message is set aside as poison", async () => {
    const domain = newDomain();
    const dlq = await replica(domain);
    await dlq.park(request(domain, "fine"));
    await store.injectGarbage(domain);
    const service = recorder();
    const stop = dlq.startReplayer(service.deliver, fast);
    await until("the garbage is listed", async () => (await dlq.poison()).length === 1);
    await until("the depth is 0", async () => (await dlq.depth()) === 0);
    await stop();
    const [entry] = await dlq.poison();
    expect(entry).toMatchObject({ reason: "unparseable message", request: null, raw: "{not" });
    expect(service.deliveries.get("fine")).toBe(1);
  });

  test("a parked write survives a gateway restart", async () => {
    const domain = newDomain();
    const before = await store.open(domain);
    await before.park(request(domain, "kept"));
    await before.close();
    const after = await replica(domain);
    expect(await after.depth()).toBe(1);
    const service = recorder();
    const stop = after.startReplayer(service.deliver, fast);
    await until("the write is delivered", () => service.deliveries.has("kept"));
    await stop();
    expect(service.deliveries.get("kept")).toBe(1);
  });
});

describe("the parked form of a request", () => {
  test("a parked request keeps only what a replay needs, and its id depends on user and key", () => {
    const req = request("business", "k-1");
    expect(req.headers).toEqual({
      "content-type": "application/json",
      "x-principal-user": "user-1",
    });
    expect(Buffer.from(req.body, "base64").toString()).toBe('{"item":"k-1"}');
    expect(req.trackingId).toBe(trackingIdFor("business", "user-1", "k-1"));
    expect(trackingIdFor("business", "user-2", "k-1")).not.toBe(req.trackingId);
    expect(trackingIdFor("identity", "user-1", "k-1")).not.toBe(req.trackingId);
  });
});

describe("the write queue the gateway's fallback calls", () => {
  const write = (body: string) => ({
    idempotencyKey: "fallback-1",
    principal: "user-1",
    service: "orders",
    method: "POST",
    path: "/v1/orders",
    headers: { "content-type": "application/json", "x-principal-user": "user-1" },
    body: Buffer.from(body).toString("base64"),
  });

  test("parks once, reports the repeat as a duplicate and another body as a 409", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "dlq-queue-"));
    dirs.push(dataDir);
    const dlq = await openDeadLetterQueue({
      domain: "business",
      registry: new Registry(),
      logger,
      dataDir,
    });
    try {
      const queue = writeQueueOf(dlq, logger, SECRET);
      const first = await queue.park(write('{"item":"a","quantity":1}'));
      expect(first).toEqual({
        trackingId: trackingIdFor("business", "user-1", "fallback-1"),
        duplicate: false,
      });
      expect(await queue.park(write('{"item":"a","quantity":1}'))).toEqual({
        ...first,
        duplicate: true,
      });
      const conflict = await queue.park(write('{"item":"b","quantity":1}')).catch((e) => e);
      expect(conflict).toBeInstanceOf(ApiError);
      expect(conflict).toMatchObject({ status: 409, code: "idempotency_key_reused" });
      const malformed = await queue
        .park({ ...write("{}"), idempotencyKey: "has spaces" })
        .catch((e) => e);
      expect(malformed).toMatchObject({ status: 400, param: "Idempotency-Key" });
    } finally {
      await dlq.close();
    }
  });

  test("a store that cannot keep the write answers 503, never a 202", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "dlq-queue-"));
    dirs.push(dataDir);
    const dlq = await openDeadLetterQueue({
      domain: "business",
      registry: new Registry(),
      logger,
      dataDir,
    });
    await dlq.close();
    const failure = await writeQueueOf(dlq, logger, SECRET)
      .park(write("{}"))
      .catch((e) => e);
    expect(failure).toMatchObject({ status: 503, code: "dlq_unavailable" });
  });
});

describe("the admin listing", () => {
  test("shows the depth and the poison messages with the service's answer", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "dlq-admin-"));
    dirs.push(dataDir);
    const dlq = await openDeadLetterQueue({
      domain: "business",
      registry: new Registry(),
      logger,
      dataDir,
    });
    const app = express();
    app.get("/admin/dlq", dlqAdminHandler(dlq));
    const server = app.listen(0, "127.0.0.1");
    await new Promise((ok) => server.once("listening", ok));
    try {
      await dlq.park(request("business", "refused"));
      await dlq.park(request("business", "waiting"));
      const stop = dlq.startReplayer(
        async (req) =>
          req.idempotencyKey === "refused"
            ? { outcome: "poison", status: 422, reason: "no such item" }
            : { outcome: "retry", reason: "no healthy replica" },
        fast,
      );
      await until("the poison message is listed", async () => (await dlq.poison()).length === 1);
      await stop();
      const { port } = server.address() as { port: number };
      const res = await fetch(`http://127.0.0.1:${port}/admin/dlq?limit=10`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({
        domain: "business",
        store: "sql",
        depth: 1,
        poison: [{ service: "orders", status: 422, reason: "no such item" }],
      });
    } finally {
      await new Promise((ok) => server.close(ok));
      await dlq.close();
    }
  });
});
