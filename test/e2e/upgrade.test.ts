import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { defaultCatalog } from "../../platform/catalog/default.ts";
import type { CatalogInput } from "../../platform/catalog/schema.ts";
import { bucketOf } from "../../services/gateway/versionRouter.ts";
import { createDatabase } from "../servers/index.ts";
import { ROOT, startTopology, type RunningTopology } from "../support/localTopology.ts";

// The upgrade layer as an operator uses it on `npm start`, under a steady client load:
// - orders v2 is its own build (the tree of a commit whose orders answer one field more): the
//   canary moves every client to it with no failed request;
// - orders v3 fails every API request (FAULT_ERROR_RATE=1 in its catalog settings): the
//   Upgrade Manager sees it in monitoring at the first step, puts v2 back and exits 1, and the
//   clients' failures stay within the share that step exposed.

jest.setTimeout(600_000);

const run = promisify(execFile);
const FIELD = "fulfilment";
const FIRST_STEP = 10;

let topo: RunningTopology;
let work: string;
let catalogFile: string;
let databaseUrl: string;

/**
 * A commit whose orders answer `FIELD`, made as a release branch would be but without touching
 * the checkout or any ref: its objects go in the repository's store, its id is the source ref.
 */
async function ordersV2Commit(): Promise<string> {
  const git = (args: string[], env: NodeJS.ProcessEnv = {}, input?: string) =>
    new Promise<string>((ok, fail) => {
      const child = execFile(
        "git",
        args,
        { cwd: ROOT, env: { ...process.env, ...env } },
        (err, stdout) => (err ? fail(err) : ok(stdout.trim())),
      );
      if (input !== undefined) child.stdin!.end(input);
    });
  const path = "services/orders/store.ts";
  const original = await git(["show", `HEAD:${path}`]);
  const changed = original.replace(
    '  object: "order",\n',
    `  object: "order",\n  ${FIELD}: "standard",\n`,
  );
  expect(changed).not.toBe(original);
  const index = { GIT_INDEX_FILE: join(work, "index") };
  await git(["read-tree", "HEAD"], index);
  const blob = await git(["hash-object", "-w", "--stdin"], {}, changed + "\n");
  await git(["update-index", "--cacheinfo", `100644,${blob},${path}`], index);
  const tree = await git(["write-tree"], index);
  const who = {
    GIT_AUTHOR_NAME: "upgrade test",
    GIT_AUTHOR_EMAIL: "upgrade-test@example.com",
    GIT_COMMITTER_NAME: "upgrade test",
    GIT_COMMITTER_EMAIL: "upgrade-test@example.com",
  };
  return git(["commit-tree", tree, "-p", "HEAD", "-m", "orders v2: answers its fulfilment"], who);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "upgrade-e2e-"));
  const v2 = await ordersV2Commit();
  const catalog: CatalogInput = {
    ...defaultCatalog,
    services: {
      ...defaultCatalog.services,
      orders: {
        ...defaultCatalog.services["orders"]!,
        versions: [
          { name: "v1", weight: 100 },
          { name: "v2", weight: 0, source: { ref: v2 } },
          { name: "v3", weight: 0, env: { FAULT_ERROR_RATE: "1" } },
        ],
        upgrade: { canarySteps: [FIRST_STEP, 50, 100], holdSeconds: 4, maxErrorRate: 0.05 },
      },
    },
  };
  catalogFile = join(work, "catalog.json");
  writeFileSync(catalogFile, JSON.stringify(catalog));
  databaseUrl = await createDatabase("upgrade_e2e");
  topo = await startTopology(
    { REPLICAS: "1", MONITOR_INTERVAL_MS: "1000", DATABASE_URL: databaseUrl },
    ["--catalog", catalogFile],
  );
});

afterAll(async () => {
  await topo?.stop();
  rmSync(work, { recursive: true, force: true });
});

async function api(key: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${topo.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
}

/** Clients that keep creating and reading orders, each as a user of its own, until stopped. */
function load(keys: string[]) {
  const seen = { requests: 0, failed: [] as string[], withField: 0, reads: 0 };
  let stopped = false;
  const done = (async () => {
    for (let i = 0; !stopped; i++) {
      const key = keys[i % keys.length]!;
      try {
        const made = await api(key, "POST", "/v1/orders", { item: "pen", quantity: 1 });
        seen.requests++;
        if (made.status !== 201) {
          seen.failed.push(`POST ${made.status} ${JSON.stringify(made.body).slice(0, 120)}`);
          continue;
        }
        const read = await api(key, "GET", `/v1/orders/${made.body["id"] as string}`);
        seen.requests++;
        if (read.status !== 200) seen.failed.push(`GET ${read.status}`);
        else {
          seen.reads++;
          if (FIELD in read.body) seen.withField++;
        }
      } catch (err) {
        seen.failed.push(`error ${(err as Error).message}`);
      }
      // About 15 requests a second: under the per-address limit all these clients share.
      await new Promise((ok) => setTimeout(ok, 120));
    }
  })();
  return {
    seen,
    reset: () => Object.assign(seen, { requests: 0, failed: [], withField: 0, reads: 0 }),
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

async function upgradeTo(version: string) {
  return run(
    process.execPath,
    [
      "infra/upgrade/main.ts",
      "--local",
      "--data-dir",
      topo.dataDir,
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
  const { stdout } = await run(process.execPath, [join(ROOT, "services/auth/createAdminKey.ts")], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl, NODE_OPTIONS: "" },
  });
  const admin = (JSON.parse(stdout) as { key: string }).key;
  // Users until some fall in the first step's share: each user sticks to one version.
  const keys: string[] = [];
  let early = 0;
  for (let i = 0; keys.length < 12 || early < 2; i++) {
    expect(i).toBeLessThan(80);
    const user = await api(admin, "POST", "/v1/users", {
      email: `client-${i}@example.com`,
      name: `client ${i}`,
    });
    expect(user.status).toBe(201);
    const key = await api(admin, "POST", "/v1/auth/keys", {
      name: `client-${i}`,
      userId: user.body["id"],
    });
    expect(key.status).toBe(201);
    keys.push(key.body["key"] as string);
    if (bucketOf(user.body["id"] as string, "orders") < FIRST_STEP) early++;
  }

  const clients = load(keys);
  try {
    await new Promise((ok) => setTimeout(ok, 3_000));
    expect(clients.seen.withField).toBe(0); // v1 answers everyone

    const toV2 = await upgradeTo("v2");
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
    const toV3 = await upgradeTo("v3");
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
