// Failure drill 3 (issue 3): writes during an outage of the orders service.
//
//   node bench/drills/dlq.ts
//
// Starts the local topology (with the real Kafka, Redis and PostgreSQL named by KAFKA_BROKERS,
// REDIS_URL and DATABASE_URL, else the embedded defaults), stops every orders replica, sends
// DRILL_WRITES (default 200) writes with Idempotency-Keys through the router, each twice (the
// second is a client's retry), restarts orders, waits for the dead-letter queue to drain, and
// counts what orders stored. Target: every accepted write stored, none twice.
import { setTimeout as sleep } from "node:timers/promises";
import { envKey } from "../../platform/runtimeEnv.ts";
import type { ProcessSpec } from "../../stacks/local/topology.ts";
import { BenchTopology } from "../support/topology.ts";

const writes = Number(process.env["DRILL_WRITES"] ?? 200);
const concurrency = Number(process.env["DRILL_CONCURRENCY"] ?? 20);
const drainTimeoutMs = Number(process.env["DRILL_DRAIN_TIMEOUT_S"] ?? 120) * 1000;
const data = {
  databaseUrl: process.env[envKey.databaseUrl] || undefined,
  redisUrl: process.env[envKey.redisUrl] || undefined,
  kafkaBrokers: process.env[envKey.kafkaBrokers] || undefined,
};

interface WriteResult {
  status: number;
  trackingId?: string;
  duplicate?: boolean;
}

async function sendWrite(base: string, apiKey: string, key: string): Promise<WriteResult> {
  try {
    const res = await fetch(`${base}/v1/orders`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${apiKey}`,
        "content-type": "application/json",
        "idempotency-key": key,
      },
      body: JSON.stringify({ item: key, quantity: 1 }),
      signal: AbortSignal.timeout(30_000),
    });
    const body = (await res.json().catch(() => ({}))) as { id?: string; duplicate?: boolean };
    return { status: res.status, trackingId: body.id, duplicate: body.duplicate };
  } catch {
    return { status: 0 };
  }
}

async function inPool<T>(items: readonly T[], size: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: size }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** Orders of this run, by item (each write's item is its idempotency key). */
async function storedItems(base: string, apiKey: string, prefix: string): Promise<string[]> {
  const items: string[] = [];
  let after: string | undefined;
  for (;;) {
    const query = `limit=100${after ? `&after=${after}` : ""}`;
    const res = await fetch(`${base}/v1/orders?${query}`, {
      headers: { authorization: `Bearer ${apiKey}` },
    });
    if (!res.ok) throw new Error(`GET /v1/orders answered ${res.status}: ${await res.text()}`);
    const page = (await res.json()) as {
      data: { id: string; item: string }[];
      has_more: boolean;
    };
    items.push(...page.data.map((o) => o.item).filter((item) => item.startsWith(prefix)));
    if (!page.has_more || page.data.length === 0) return items;
    after = page.data.at(-1)!.id;
  }
}

/** The DLQ depth each business gateway reports on /metrics (undefined: not exposed). */
async function dlqDepths(gateways: readonly ProcessSpec[]): Promise<(number | undefined)[]> {
  return Promise.all(
    gateways.map(async (g) => {
      const text = await fetch(`http://127.0.0.1:${g.port}/metrics`)
        .then((r) => r.text())
        .catch(() => "");
      const line = text.split("\n").find((l) => l.startsWith("gateway_dlq_depth{"));
      return line === undefined ? undefined : Number(line.split(" ").at(-1));
    }),
  );
}

const histogram = (results: readonly WriteResult[]) =>
  Object.entries(
    results.reduce<Record<string, number>>((acc, r) => {
      const key = r.status === 0 ? "no answer" : String(r.status);
      acc[key] = (acc[key] ?? 0) + 1;
      return acc;
    }, {}),
  )
    .map(([status, n]) => `${status}: ${n}`)
    .join(", ");

const run = `drill-${Date.now().toString(36)}`;
let passed = false;
let topology: BenchTopology | undefined;

const stores = [
  data.databaseUrl ? "PostgreSQL" : "SQLite",
  data.redisUrl ? "Redis" : "in-memory cache",
  data.kafkaBrokers ? "Kafka" : "no Kafka (the DLQ's SQL store)",
].join(", ");

try {
  topology = await BenchTopology.start({ name: "drill-dlq", data });
  const { base, apiKey, specs, supervisor } = topology;
  const ordersSpecs = topology.serviceReplicas("orders");
  const gateways = topology.gatewayReplicas("orders");
  const orders = {
    start: () => Promise.all(ordersSpecs.map((o) => supervisor.startProcess(o.name))),
    stop: () => Promise.all(ordersSpecs.map((o) => supervisor.stopProcess(o.name))),
  };
  console.log(`drill: writes during an orders outage; ${specs.length} processes (${stores})`);
  const probe = await fetch(`${base}/v1/orders?limit=1`, {
    headers: { authorization: `Bearer ${apiKey}` },
  });
  if (!probe.ok) throw new Error(`the topology does not serve GET /v1/orders: ${probe.status}`);

  await orders.stop();
  console.log(
    `orders stopped (${ordersSpecs.length} replicas); sending ${writes} writes, each twice`,
  );
  const keys = Array.from({ length: writes }, (_, i) => `${run}-${i}`);
  const first = new Map<string, WriteResult>();
  const repeat = new Map<string, WriteResult>();
  const sendStarted = Date.now();
  await inPool(keys, concurrency, async (key) => {
    first.set(key, await sendWrite(base, apiKey, key));
    repeat.set(key, await sendWrite(base, apiKey, key));
  });
  const sendSeconds = (Date.now() - sendStarted) / 1000;
  const accepted = keys.filter((k) => [201, 202].includes(first.get(k)!.status));
  const parked = keys.filter((k) => first.get(k)!.status === 202);
  const sameId = parked.filter(
    (k) => repeat.get(k)!.status === 202 && repeat.get(k)!.trackingId === first.get(k)!.trackingId,
  );

  console.log(`  first sends   ${histogram([...first.values()])}   (${sendSeconds.toFixed(1)} s)`);
  console.log(`  client retries ${histogram([...repeat.values()])}`);
  if (parked.length === 0) {
    console.log(
      "FAIL: no write was parked. While orders is down the gateway must answer 202 with a tracking " +
        "id for a write that carries an Idempotency-Key (issue 3, dead-letter queue); it answered " +
        `${histogram([...first.values()])}. Is the DLQ wired into the gateway's fallback?`,
    );
  }

  const restarted = Date.now();
  await orders.start();
  console.log(
    `orders restarted in ${((Date.now() - restarted) / 1000).toFixed(1)} s; waiting for the replay`,
  );
  const deadline = Date.now() + drainTimeoutMs;
  // Until the gateways see orders healthy again (health checks, half-open breaker) reads may fail.
  const readStored = async () => {
    for (;;) {
      try {
        return await storedItems(base, apiKey, `${run}-`);
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await sleep(500);
      }
    }
  };
  let stored = await readStored();
  while (new Set(stored).size < accepted.length && Date.now() < deadline) {
    await sleep(500);
    stored = await readStored();
  }
  const drainedAfter = (Date.now() - restarted) / 1000;
  // A replay that comes late would show up as a duplicate a moment later.
  await sleep(2_000);
  stored = await readStored();
  const distinct = new Set(stored);
  const lost = accepted.filter((k) => !distinct.has(k));
  const duplicates = stored.length - distinct.size;
  const depths = await dlqDepths(gateways);

  console.log("");
  console.log(`writes sent                 ${writes} (each sent twice: ${writes * 2} requests)`);
  console.log(`writes accepted (201/202)   ${accepted.length} (parked with 202: ${parked.length})`);
  console.log(`retries given the same id   ${sameId.length} of ${parked.length}`);
  console.log(`writes stored after restart ${distinct.size} of ${accepted.length} accepted`);
  console.log(`accepted but not stored     ${lost.length}`);
  console.log(`duplicates stored           ${duplicates}`);
  console.log(
    `stored writes not accepted  ${[...distinct].filter((k) => !accepted.includes(k)).length}`,
  );
  console.log(`replay drained in           ${drainedAfter.toFixed(1)} s after the restart began`);
  console.log(
    `DLQ depth by gateway        ${depths.map((d) => (d === undefined ? "not exposed" : d)).join(", ")}`,
  );
  passed = parked.length > 0 && accepted.length === writes && lost.length === 0 && duplicates === 0;
  console.log(
    `result                      ${passed ? "PASS" : "FAIL"} (target: ${writes} of ${writes} stored, 0 duplicates)`,
  );
} catch (err) {
  console.error(`drill failed: ${(err as Error).message}`);
} finally {
  await topology?.stop(!passed);
}
process.exit(passed ? 0 : 1);
