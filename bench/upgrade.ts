// The Upgrade Manager's times (issue #19), no verdict: on `npm start` with the catalog's replica
// counts, real PostgreSQL and Redis, the catalog's default upgrade policy (canary 5, 25, 50, 100
// with 30 s holds) and the default 5 s monitoring interval, under the drills' client load:
// - a canary to orders v2 (a build of its own): time from the start to 100% of the traffic;
// - a blue-green back to v1: the same, after its smoke test;
// - a canary to v3, which fails every call: time from the step to the breach seen, and from the
//   breach to the previous weights set on every gateway, and the client requests that failed.
//
//   bash scripts/with-node24.sh node bench/upgrade.ts   (about 6 minutes)
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { validateCatalog } from "../platform/catalog/index.ts";
import { localTarget, readOperatorFile } from "../infra/upgrade/localTarget.ts";
import { upgrade, type Strategy, type UpgradeReport } from "../infra/upgrade/manager.ts";
import { ordersV2Commit, spreadUsers, upgradeCatalog } from "../test/support/upgradeScenario.ts";
import { adminKey } from "../test/support/users.ts";
import { ClientLoad, simulatedClients } from "./support/clientLoad.ts";
import { failed, ordersMix, printFigures, statusHistogram } from "./support/report.ts";
import { ROOT } from "./support/topology.ts";
import { startDataStores } from "./support/stores.ts";
import { startLocalRun } from "./support/localRun.ts";

const work = mkdtempSync(join(tmpdir(), "bench-upgrade-"));
const stores = await startDataStores();
const catalog = upgradeCatalog(await ordersV2Commit(ROOT, work));
const catalogFile = join(work, "catalog.json");
writeFileSync(catalogFile, JSON.stringify(catalog));
const local = await startLocalRun({ work, catalogFile, stores });
const url = local.url;

try {
  const admin = await adminKey(ROOT, stores.data.databaseUrl!); // startDataStores runs PostgreSQL
  const keys = await spreadUsers(url, admin, {
    count: 40,
    early: 2,
    firstSteps: [
      { to: "v2", weights: { v1: 95, v2: 5, v3: 0 } },
      { to: "v3", weights: { v1: 95, v2: 0, v3: 5 } },
    ],
  });
  const load = ClientLoad.start({
    target: url,
    clients: simulatedClients(keys, keys.length),
    next: ordersMix("upgrade"),
    ratePerSecond: 40,
    maxSeconds: 900,
  });
  const checked = validateCatalog(catalog);
  const target = localTarget({
    catalog: checked,
    operator: readOperatorFile(local.dataDir),
    apiKey: admin,
  });
  const run = async (to: string, strategy: Strategy) => {
    const from = load.outcomes.length;
    const report = await upgrade({
      service: "orders",
      to,
      strategy,
      policy: checked.services["orders"]!.upgrade,
      target,
      log: (line) => console.log(`  ${line}`),
    });
    const during = load.outcomes.slice(from);
    return { report, during };
  };

  console.log(`npm start on ${stores.describe}, ${keys.length} clients at 40 req/s`);
  const rows: [string, string][] = [];
  const figures = (label: string, r: { report: UpgradeReport; during: readonly unknown[] }) => {
    const outcomes = r.during as Parameters<typeof statusHistogram>[0];
    rows.push([
      label,
      `${r.report.outcome}` +
        (r.report.secondsToFull !== undefined
          ? `, 100% after ${r.report.secondsToFull.toFixed(1)} s`
          : "") +
        (r.report.detectedSeconds !== undefined
          ? `, breach seen ${r.report.detectedSeconds.toFixed(1)} s after its step, weights restored in ${(r.report.rollbackSeconds! * 1000).toFixed(0)} ms`
          : "") +
        `; ${outcomes.filter(failed).length} of ${outcomes.length} client requests failed (${statusHistogram(outcomes)})`,
    ]);
  };
  figures("canary v1 -> v2", await run("v2", "canary"));
  figures("blue-green v2 -> v1", await run("v1", "blue-green"));
  figures("canary v1 -> v3 (fails)", await run("v3", "canary"));
  await load.stop();
  console.log("");
  printFigures(rows);
} finally {
  await local.stop();
  await stores.stop();
  rmSync(work, { recursive: true, force: true });
}
