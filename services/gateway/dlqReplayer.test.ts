import { mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { Registry } from "prom-client";
import { freePort } from "../../test/support/localTopology.ts";
import { orderRoutes } from "../orders/app.ts";
import { migrations, orderStore, type OrderStore } from "../orders/store.ts";
import { createApp, finishApp } from "../shared/http.ts";
import { createMetrics } from "../shared/metrics.ts";
import { openDb, type Db } from "../shared/sql/db.ts";
import { migrate } from "../shared/sql/migrate.ts";
import { ReplicaSet } from "../shared/upstream.ts";
import { openDeadLetterQueue, parkedRequest, type ParkedRequest } from "./dlq.ts";
import { classifyReplay, replayDelivery, startDlqReplay } from "./dlqReplayer.ts";

// Replays against the real orders service (its app and store on SQLite), so that what the DLQ
// relies on is checked too: the service answers a repeated Idempotency-Key with the first order.

const logger = pino({ level: "silent" });
const dir = mkdtempSync(join(tmpdir(), "dlq-replay-"));
const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  rmSync(dir, { recursive: true, force: true });
});

async function startOrders(
  port: number,
): Promise<{ store: OrderStore; stop: () => Promise<void> }> {
  const db: Db = await openDb({ service: "orders", domain: "business", dataDir: dir });
  await migrate(db, "orders", migrations);
  const store = orderStore(db);
  const app = createApp({
    logger,
    metrics: createMetrics("orders-test"),
    ready: async () => ({ ok: true }),
    principalSecret: SECRET,
  });
  orderRoutes(app, store);
  finishApp(app, logger);
  const server = await new Promise<Server>((ok) => {
    const s = app.listen(port, "127.0.0.1", () => ok(s));
  });
  const stop = async () => {
    await new Promise((ok) => server.close(ok));
    server.closeAllConnections();
    await db.close();
  };
  return { store, stop };
}

const SECRET = "replay-test-principal-secret-0123456789";

function order(key: string, body: object = { item: "book", quantity: 1 }): ParkedRequest {
  return parkedRequest({
    domain: "business",
    service: "orders",
    method: "POST",
    path: "/v1/orders",
    principal: "u-replay",
    idempotencyKey: key,
    headers: {
      "content-type": "application/json",
      "x-principal-user": "u-replay",
      "x-principal-key": "key-1",
      "x-principal-plan": "free",
      "x-request-id": "3b0c4a5e-7f61-4a2b-9d1e-5c8f2a6b7d90",
    },
    body: Buffer.from(JSON.stringify(body)),
    secret: SECRET,
  });
}

describe("replaying to the orders service", () => {
  let port: number;
  let orders: { store: OrderStore; stop: () => Promise<void> };
  let set: ReplicaSet;

  beforeAll(async () => {
    port = await freePort();
    orders = await startOrders(port);
    closers.push(() => orders.stop());
    // The tier's sets sign what they send; the replay goes out on them.
    set = new ReplicaSet("orders", [`http://127.0.0.1:${port}`], { signWith: SECRET });
    closers.push(() => set.close());
  });

  test("a replay creates the order, and a second replay of it (a crash mid-replay) creates none", async () => {
    const deliver = replayDelivery({ sets: new Map([["orders", set]]), secret: SECRET });
    const req = order("replay-twice");
    expect(await deliver(req)).toEqual({ outcome: "delivered", status: 201 });
    expect(await deliver(req)).toEqual({ outcome: "delivered", status: 201 });
    const { items: stored } = await orders.store.list("u-replay", { limit: 100 });
    expect(stored.filter((o) => o.item === "book")).toHaveLength(1);
  });

  test("what the service refuses is poison, with its answer kept", async () => {
    const deliver = replayDelivery({ sets: new Map([["orders", set]]), secret: SECRET });
    await deliver(order("reused", { item: "pen", quantity: 1 }));
    const conflict = await deliver(order("reused", { item: "pen", quantity: 2 }));
    expect(conflict).toMatchObject({ outcome: "poison", status: 409 });
    expect(conflict.reason).toContain("idempotency_key_reused");
    expect(await deliver(order("invalid", { item: "pen", quantity: 0 }))).toMatchObject({
      outcome: "poison",
      status: 400,
    });
    expect(await deliver({ ...order("elsewhere"), service: "billing" })).toMatchObject({
      outcome: "poison",
    });
  });

  test("a write that no gateway of this stack parked is poison, never sent as its user", async () => {
    const deliver = replayDelivery({ sets: new Map([["orders", set]]), secret: SECRET });
    const genuine = order("forged", { item: "forged", quantity: 1 });
    const otherUser = { ...genuine.headers, "x-principal-user": "u-victim" };
    for (const forged of [
      { ...genuine, signature: "x".repeat(43) },
      { ...genuine, body: Buffer.from('{"item":"forged","quantity":9}').toString("base64") },
      { ...genuine, principal: "u-victim", headers: otherUser },
      parkedRequest({
        domain: "business",
        service: "orders",
        method: "POST",
        path: "/v1/orders",
        principal: "u-victim",
        idempotencyKey: "forged",
        headers: otherUser,
        body: Buffer.from('{"item":"forged","quantity":1}'),
        secret: "another-stack-secret-0123456789abcdef",
      }),
    ]) {
      expect(await deliver(forged)).toEqual({
        outcome: "poison",
        reason: "not signed by a gateway of this stack",
      });
    }
    const stored = [
      ...(await orders.store.list("u-replay", { limit: 100 })).items,
      ...(await orders.store.list("u-victim", { limit: 100 })).items,
    ];
    expect(stored.filter((o) => o.item === "forged")).toEqual([]);
    // The genuine one goes through, its principal signed again for the replay.
    expect(await deliver(genuine)).toEqual({ outcome: "delivered", status: 201 });
  });
});

describe("the DLQ round trip", () => {
  test("a write parked while orders is down is stored once when it comes back", async () => {
    const port = await freePort();
    const set = new ReplicaSet("orders", [`http://127.0.0.1:${port}`], {
      signWith: SECRET,
      baseEjectMs: 20,
      maxEjectMs: 100,
    });
    closers.push(() => set.close());
    const registry = new Registry();
    const dlq = await openDeadLetterQueue({
      domain: "business",
      registry,
      logger,
      dataDir: join(dir, "gateway"),
    });
    closers.push(() => dlq.close());
    const parked = await dlq.park(order("while-down", { item: "lamp", quantity: 3 }));
    expect(parked.status).toBe("parked");
    const stop = startDlqReplay({
      dlq,
      sets: new Map([["orders", set]]),
      logger,
      secret: SECRET,
      replay: { baseMs: 20, maxMs: 100, pollMs: 20 },
    });
    closers.push(stop);

    // Nothing listens yet: the replayer must be told to retry, and keep the write.
    const retried = async () =>
      (await registry.metrics()).includes(
        'gateway_dlq_replayed_total{service="orders",outcome="retry"}',
      );
    while (!(await retried())) await sleep(20);
    expect(await dlq.depth()).toBe(1);

    const back = await startOrders(port);
    closers.push(() => back.stop());
    while ((await dlq.depth()) > 0) await sleep(20);
    const { items: stored } = await back.store.list("u-replay", { limit: 100 });
    expect(stored.filter((o) => o.item === "lamp")).toEqual([
      expect.objectContaining({ item: "lamp", quantity: 3 }),
    ]);
  });
});

describe("outcome of a replay", () => {
  test.each([
    [201, "delivered"],
    [200, "delivered"],
    [500, "retry"],
    [502, "retry"],
    [503, "retry"],
    [408, "retry"],
    [429, "retry"],
    [400, "poison"],
    [404, "poison"],
    [409, "poison"],
    [422, "poison"],
  ])("status %i is %s", (status, outcome) => {
    expect(classifyReplay(status, "").outcome).toBe(outcome);
  });

  test("a service with no replica reachable is retried, not poisoned", async () => {
    const set = new ReplicaSet("orders", [`http://127.0.0.1:${await freePort()}`]);
    closers.push(() => set.close());
    const deliver = replayDelivery({ sets: new Map([["orders", set]]), secret: SECRET });
    expect(await deliver(order("refused"))).toMatchObject({ outcome: "retry" });
    // Now ejected: the next replay does not even knock.
    expect(await deliver(order("refused"))).toEqual({
      outcome: "retry",
      reason: "no healthy replica",
    });
  });
});
