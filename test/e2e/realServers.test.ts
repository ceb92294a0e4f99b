import { Redis } from "ioredis";
import pg from "pg";
import { catalog, domains, services } from "../../platform/catalog/index.ts";
import { createDatabase } from "../servers/index.ts";
import { readTopic, requireEnv } from "../support/kafka.ts";
import {
  startTopology,
  type RunningTopology,
  TOPOLOGY_READY_MS,
} from "../support/localTopology.ts";

// The same topology as `npm start`, on the real servers a deployment uses: PostgreSQL for the
// stores, Redis for the gateways' verdict cache, Kafka for the domain events.

let topo: RunningTopology;
let databaseUrl: string;
const redisUrl = () => requireEnv("TEST_REDIS_URL");
const brokers = () => requireEnv("TEST_KAFKA_BROKERS");

beforeAll(async () => {
  databaseUrl = await createDatabase("e2e");
  topo = await startTopology({
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl(),
    KAFKA_BROKERS: brokers(),
  });
}, TOPOLOGY_READY_MS + 30_000);

afterAll(async () => {
  expect(await topo?.stop()).toBe(0);
});

test("the runner says which stores it uses", () => {
  const processes =
    services(catalog).reduce((n, s) => n + s.replicas * s.versions.length, 0) +
    domains(catalog).reduce((n, d) => n + d.gateway.replicas, 0) +
    catalog.router.replicas;
  expect(topo.output()).toContain(`starting ${processes} processes (PostgreSQL, Redis, Kafka)`);
});

test("an accepted order is stored in PostgreSQL, in the orders service's own schema", async () => {
  const res = await fetch(`${topo.url}/v1/orders`, {
    method: "POST",
    headers: { authorization: `Bearer ${topo.apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({ item: "real-servers", quantity: 7 }),
  });
  expect(res.status).toBe(201);
  const order = (await res.json()) as { id: string };

  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const rows = await client.query(
      "SELECT item, quantity, user_id FROM orders.orders WHERE id = $1",
      [order.id],
    );
    expect(rows.rows).toEqual([{ item: "real-servers", quantity: 7, user_id: "demo-user" }]);
    // The demo key is stored hashed, never as itself.
    const keys = await client.query("SELECT key_hash FROM auth.api_keys");
    expect(keys.rows.length).toBeGreaterThan(0);
    expect(JSON.stringify(keys.rows)).not.toContain(topo.apiKey);
  } finally {
    await client.end();
  }

  // ...and its event reaches the business domain's Kafka topic through the outbox.
  const values = await readTopic(brokers(), "business.orders", (v) =>
    v.some((x) => x.includes(order.id)),
  );
  const event = values
    .map((v) => JSON.parse(v) as { type: string; data: { id: string } })
    .find((e) => e.data.id === order.id);
  expect(event?.type).toBe("order.created");
});

test("the gateways cache key verdicts in Redis under the key's hash, never the key", async () => {
  await fetch(`${topo.url}/v1/auth/whoami`, {
    headers: { authorization: `Bearer ${topo.apiKey}` },
  });
  const redis = new Redis(redisUrl());
  try {
    const keys = await redis.keys("identity-gateway:auth:verdict:*");
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.join()).not.toContain(topo.apiKey);
    const values = await Promise.all(keys.map((k) => redis.get(k)));
    expect(values.some((v) => v?.includes('"userId":"demo-user"'))).toBe(true);
  } finally {
    redis.disconnect();
  }
});
