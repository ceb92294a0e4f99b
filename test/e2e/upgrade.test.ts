import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createDatabase } from "../servers/index.ts";
import { Redis } from "ioredis";
import { readOperatorFile } from "../../infra/upgrade/localTarget.ts";
import { requireEnv } from "../support/kafka.ts";
import { adminKey } from "../support/users.ts";
import { ROOT, startTopology, type RunningTopology } from "../support/localTopology.ts";
import {
  orderClients,
  ordersV2Commit,
  spreadUsers,
  upgradeCatalog,
} from "../support/upgradeScenario.ts";

// The upgrade layer as an operator uses it on `npm start`, under a steady client load:
// - orders v2 is its own build (the tree of a commit whose orders answer one field more): the
//   canary moves every client to it with no failed request;
// - orders v3 fails every API request (FAULT_ERROR_RATE=1 in its catalog settings): the
//   Upgrade Manager sees it in monitoring at the first step, puts v2 back and exits 1, and the
//   clients' failures stay within the share that step exposed.
// The first upgrade drives the run through its own ports (`--local`); the second through its
// public edge alone, as on a deployed stack (`--url`, an admin key and the admin token), the
// weights reaching the tier's gateways through their Redis.

jest.setTimeout(600_000);

const run = promisify(execFile);
const FIRST_STEP = 10;

let topo: RunningTopology;
let work: string;
let catalogFile: string;
let databaseUrl: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "upgrade-e2e-"));
  const catalog = upgradeCatalog(await ordersV2Commit(ROOT, work), {
    canarySteps: [FIRST_STEP, 50, 100],
    holdSeconds: 4,
    maxErrorRate: 0.05,
    minRequests: 5,
  });
  catalogFile = join(work, "catalog.json");
  writeFileSync(catalogFile, JSON.stringify(catalog));
  databaseUrl = await createDatabase("upgrade_e2e");
  // A Redis database of this test's own: the weights it moves must not meet another run's.
  const redisUrl = `${requireEnv("TEST_REDIS_URL")}/9`;
  const redis = new Redis(redisUrl);
  await redis.flushdb();
  redis.disconnect();
  topo = await startTopology(
    {
      REPLICAS: "1",
      MONITOR_INTERVAL_MS: "1000",
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
    },
    ["--catalog", catalogFile],
  );
});

afterAll(async () => {
  await topo?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** `npm run upgrade` through the run's own ports, or through its public edge as an admin. */
async function upgradeTo(version: string, through: "ports" | { apiKey: string }) {
  const where =
    through === "ports"
      ? ["--local", "--data-dir", topo.dataDir]
      : [
          "--url",
          topo.url,
          "--api-key",
          through.apiKey,
          "--admin-token",
          readOperatorFile(topo.dataDir).adminToken,
        ];
  return run(
    process.execPath,
    [
      "infra/upgrade/main.ts",
      ...where,
      "--catalog",
      catalogFile,
      "--service",
      "orders",
      "--to",
      version,
    ],
    { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: "" } },
  ).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (err: { code: number; stdout: string; stderr: string }) => ({
      code: err.code,
      stdout: err.stdout + err.stderr,
    }),
  );
}

test("a canary to v2's own build loses nothing; a failing v3 is rolled back at its first step", async () => {
  const admin = await adminKey(ROOT, databaseUrl);
  // Users of their own, each sticking to one version; some reach each canary's first step.
  const keys = await spreadUsers(topo.url, admin, {
    count: 12,
    early: 2,
    firstSteps: [
      { to: "v2", weights: { v1: 100 - FIRST_STEP, v2: FIRST_STEP, v3: 0 } },
      { to: "v3", weights: { v1: 0, v2: 100 - FIRST_STEP, v3: FIRST_STEP } },
    ],
  });

  const clients = orderClients(topo.url, keys);
  try {
    await new Promise((ok) => setTimeout(ok, 3_000));
    expect(clients.seen.withField).toBe(0); // v1 answers everyone

    const toV2 = await upgradeTo("v2", "ports");
    expect(toV2.stdout).toContain("step 3/3: v1 0%, v2 100%, v3 0%");
    expect(toV2.stdout).toContain("completed:");
    expect(toV2.code).toBe(0);
    expect(clients.seen.failed).toEqual([]);
    // Every client is on v2's build now.
    await new Promise((ok) => setTimeout(ok, 3_000));
    clients.reset();
    await new Promise((ok) => setTimeout(ok, 3_000));
    expect(clients.seen.reads).toBeGreaterThan(0);
    expect(clients.seen.withField).toBe(clients.seen.reads);

    clients.reset();
    // A key without the admin scope may not move weights through the edge.
    const refused = await upgradeTo("v3", { apiKey: keys[0]! });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain("admin_required");
    const toV3 = await upgradeTo("v3", { apiKey: admin });
    expect(toV3.code).toBe(1);
    expect(toV3.stdout).toMatch(/step 1\/3: v1 0%, v2 90%, v3 10%/);
    expect(toV3.stdout).toMatch(/BREACH: error rate \d+\.\d% over the budget of 5\.0%/);
    expect(toV3.stdout).toContain("rolled back to v1 0%, v2 100%, v3 0%");
    expect(toV3.stdout).not.toContain("step 2/3");
    const during = { ...clients.seen, failed: [...clients.seen.failed] };
    // v3 was really tried, and failed no more than the share its one step exposed.
    expect(during.failed.length).toBeGreaterThan(0);
    expect(during.failed.length / during.requests).toBeLessThanOrEqual(FIRST_STEP / 100);

    // v2 serves everyone again.
    await new Promise((ok) => setTimeout(ok, 3_000));
    clients.reset();
    await new Promise((ok) => setTimeout(ok, 3_000));
    expect(clients.seen.failed).toEqual([]);
    expect(clients.seen.withField).toBe(clients.seen.reads);
    console.log(
      `${toV2.stdout}\n${toV3.stdout}\n` +
        `${during.failed.length} of ${during.requests} client requests failed during v3's upgrade`,
    );
  } finally {
    await clients.stop();
  }
});
