// The workflow engine's figures (issue #17), no verdict: workflow steps per second through the
// engine with one and with two replicas, side by side in one run, and the scheduler's firing
// delay against the cron time (p50, p99). The replicas are the service's own program on a fresh
// PostgreSQL; each step's call goes to a stand-in tier on loopback that answers at once, so the
// figures are the engine's (pg-boss's queue, the run's rows, the bridge), not a service's.
//
//   bash scripts/with-node24.sh node bench/workflows.ts   (about 4 minutes)
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createDatabase, startPostgres } from "../test/servers/index.ts";
import { signedCall } from "../test/support/serviceApp.ts";
import { startServiceProcess, type ServiceProcess } from "../test/support/serviceProcess.ts";
import { principalHeaders } from "../services/shared/principal.ts";
import { percentile } from "./support/report.ts";

const RUNS = 40;
const STEPS = 10;
const SCHEDULES = 5;
const FIRINGS = 2;
const KEY = "Bearer sk-bench-workflows";
const owner = { userId: "usr_bench", keyId: "key_bench", plan: "free" };

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- figures read from JSON answers
type Json = Record<string, any>;

async function api(replica: ServiceProcess, method: string, path: string, body?: unknown) {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const headers = signedCall(method, path, text, {
    ...principalHeaders(owner),
    ...(text ? { "content-type": "application/json" } : {}),
  });
  const res = await fetch(`${replica.url}${path}`, {
    method,
    headers: { ...headers, authorization: KEY },
    body: text,
  });
  const json = (await res.json()) as Json;
  if (res.status >= 300)
    throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

const tier = createServer((req, res) => {
  req.resume();
  req.once("end", () =>
    res.writeHead(200, { "content-type": "application/json" }).end('{"object":"list","data":[]}'),
  );
});
await new Promise<void>((ok) => tier.listen(0, "127.0.0.1", ok));
const tierUrl = `http://127.0.0.1:${(tier.address() as AddressInfo).port}`;
const postgres = await startPostgres();
const started: ServiceProcess[] = [];

async function replicas(count: number, database: string): Promise<ServiceProcess[]> {
  const set: ServiceProcess[] = [];
  for (let i = 0; i < count; i++) {
    const replica = await startServiceProcess("workflows", "business", {
      DATABASE_URL: database,
      TIER_BUSINESS: tierUrl,
      TIER_IDENTITY: tierUrl,
      LOG_LEVEL: "warn",
      WORKFLOWS_MAX_ACTIVE_RUNS: String(RUNS),
    });
    set.push(replica);
    started.push(replica);
  }
  return set;
}

/** Steps per second for RUNS runs of STEPS call steps each, started together. */
async function throughput(count: number): Promise<number> {
  const set = await replicas(count, await createDatabase("bench_wf", postgres.url));
  const wf = await api(set[0]!, "POST", "/v1/workflows", {
    name: "bench",
    steps: Array.from({ length: STEPS }, (_, i) => ({ name: `s${i}`, call: "listOrders" })),
  });
  const start = performance.now();
  const runs = await Promise.all(
    Array.from({ length: RUNS }, (_, i) =>
      api(set[i % set.length]!, "POST", `/v1/workflows/${wf["id"]}/runs`, {}),
    ),
  );
  const pending = new Set(runs.map((r) => r["id"] as string));
  const deadline = Date.now() + 300_000;
  while (pending.size > 0) {
    if (Date.now() > deadline) throw new Error(`${pending.size} runs not finished in 300 s`);
    await sleep(100);
    const page = await api(set[0]!, "GET", "/v1/workflow-runs?limit=100");
    for (const run of page["data"] as Json[]) {
      if (run["status"] === "running") continue;
      if (run["status"] !== "succeeded") throw new Error(`run ${run["id"]} ${run["status"]}`);
      pending.delete(run["id"]);
    }
  }
  const seconds = (performance.now() - start) / 1000;
  await Promise.all(set.map((r) => r.stop()));
  return (RUNS * STEPS) / seconds;
}

/** Seconds from each firing's cron time (the minute) to its run, SCHEDULES every minute. */
async function firingDelays(): Promise<number[]> {
  const set = await replicas(2, await createDatabase("bench_wf", postgres.url));
  const wf = await api(set[0]!, "POST", "/v1/workflows", {
    name: "tick",
    steps: [{ name: "list", call: "listOrders" }],
  });
  for (let i = 0; i < SCHEDULES; i++)
    await api(set[i % 2]!, "POST", "/v1/schedules", { workflow_id: wf["id"], cron: "* * * * *" });
  const deadline = Date.now() + (FIRINGS + 1.5) * 60_000;
  let runs: Json[] = [];
  while (runs.length < SCHEDULES * FIRINGS && Date.now() < deadline) {
    await sleep(1_000);
    runs = (await api(set[0]!, "GET", "/v1/workflow-runs?limit=100"))["data"] as Json[];
  }
  await Promise.all(set.map((r) => r.stop()));
  return runs.map((r) => ((r["created_at"] as number) % 60_000) / 1000);
}

try {
  const one = await throughput(1);
  const two = await throughput(2);
  console.log(`workflow steps per second (${RUNS} runs of ${STEPS} call steps, started together):`);
  console.log(`  one replica   ${one.toFixed(1)}`);
  console.log(`  two replicas  ${two.toFixed(1)}  (${(two / one).toFixed(2)}x one)`);
  const delays = await firingDelays();
  console.log(
    `schedule firing delay after the cron time (${delays.length} firings of ${SCHEDULES} schedules, two replicas, WORKFLOWS_CRON_CHECK_SECONDS=5):`,
  );
  console.log(
    `  p50 ${percentile(delays, 50).toFixed(2)} s, p99 ${percentile(delays, 99).toFixed(2)} s, max ${Math.max(...delays).toFixed(2)} s`,
  );
} finally {
  await Promise.all(started.map((r) => r.stop()));
  await postgres.stop();
  tier.close();
}
