// What one hop costs when nothing else on the path does: nginx, a bare Node proxy, a router and a
// business gateway replica, each in turn in front of the same trivial upstream, side by side in
// one run:
//
//   node bench/hopCost.ts
//
// The throughput bench (bench/throughput.ts) measures the hops in front of the orders service
// and PostgreSQL, which share the two cores with them and make every figure noisy. Here the
// upstream (bench/support/trivialUpstream.ts) answers a fixed page, so the hop is the only real
// work, and a change to the gateway shows in its CPU per request within a minute.
//
// The gateway is the real program (services/gateway/main.ts) with the catalog's business domain,
// every service and the key verification pointed at the trivial upstream, no Redis (as in the
// throughput bench's (b)), a fresh set of API keys, and the bench catalog's rate limits
// (support/benchCatalog.ts: the limiter runs but never refuses). The router is the real program
// too (services/router/main.ts), every domain's tier pointed at the trivial upstream. Each hop's CPU time per request is its
// processes' user + system time from /proc over the requests answered. HOPS_CONNECTIONS (64)
// keep-alive connections, each from its own loopback address, for HOPS_DURATION_S (4) per run;
// a warm-up round, then HOPS_ROUNDS (3) rounds, and the medians. Issue #15's targets are ratios
// to the bare Node hop of the same run: the gateway's <= 1.5, the router's <= 1.25.
//
// HOPS_BASELINE=<another checkout> also runs that checkout's router and gateway, in the same
// rounds and against the same upstream, so that a change is measured before and after side by
// side: on a shared machine, figures from two runs differ by more than most changes.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { catalog, domains, services } from "../platform/catalog/index.ts";
import { envKey, type Env } from "../platform/runtimeEnv.ts";
import { generateKey } from "../services/auth/keys.ts";
import { freePorts } from "../stacks/local/ports.ts";
import { Supervisor } from "../stacks/local/supervisor.ts";
import { loadRun } from "./support/autocannon.ts";
import { startBareProxy, type BareProxy } from "./support/bareProxy.ts";
import { benchCatalogJson } from "./support/benchCatalog.ts";
import { childPids, cpuMs } from "./support/cpu.ts";
import { envNumber } from "./support/drill.ts";
import { startNginx, type NginxProxy } from "./support/nginx.ts";
import { median, printFigures } from "./support/report.ts";
import { ROOT } from "./support/topology.ts";

const connections = envNumber("HOPS_CONNECTIONS", 64);
const durationS = envNumber("HOPS_DURATION_S", 4);
const rounds = envNumber("HOPS_ROUNDS", 3);
const PATH = "/v1/orders?limit=20";
const DOMAIN = "business";

interface Hop {
  name: string;
  url: string;
  pids: () => number[];
  /** Bearer keys to send in turn (the gateway's limits are per key); none: no Authorization. */
  keys?: string[];
  cpuUs: number[];
  rps: number[];
}

const dir = mkdtempSync(join(tmpdir(), "bench-hops-"));
const supervisor = new Supervisor({ root: ROOT, logDir: join(dir, "logs") });
const baselineRoot = process.env["HOPS_BASELINE"];
const baseline = baselineRoot
  ? new Supervisor({ root: baselineRoot, logDir: join(dir, "baseline-logs") })
  : undefined;
let nginx: NginxProxy | undefined;
let bare: BareProxy | undefined;
let code = 1;

try {
  const [upstreamPort, gatewayPort, routerPort, barePort, nginxPort, baseGateway, baseRouter] =
    await freePorts(7);
  const upstream = `127.0.0.1:${upstreamPort}`;
  // Empty is unset (services/shared/config.ts), whatever this shell exports: no Redis, Kafka or
  // PostgreSQL.
  const gatewayEnv: Env = {
    [envKey.host]: "127.0.0.1",
    [envKey.port]: String(gatewayPort),
    [envKey.domain]: DOMAIN,
    [envKey.dataDir]: join(dir, "gateway-data"),
    [envKey.drainDelayMs]: "0",
    [envKey.authUrl]: `http://${upstream}`,
    [envKey.quotaUrl]: `http://${upstream}`,
    [envKey.redisUrl]: "",
    [envKey.kafkaBrokers]: "",
    [envKey.databaseUrl]: "",
    [envKey.principalSecret]: randomBytes(32).toString("base64url"),
    [envKey.catalog]: benchCatalogJson(),
  };
  const routerEnv: Env = {
    [envKey.host]: "127.0.0.1",
    [envKey.port]: String(routerPort),
    [envKey.drainDelayMs]: "0",
  };
  for (const d of domains(catalog)) routerEnv[envKey.tier(d.name)] = `http://${upstream}`;
  for (const s of services(catalog).filter((x) => x.domain === DOMAIN))
    for (const v of s.versions) gatewayEnv[envKey.upstream(s.name, v.name)] = `http://${upstream}`;
  supervisor.start({
    name: "upstream",
    tier: "service",
    script: "bench/support/trivialUpstream.ts",
    port: upstreamPort!,
    env: { [envKey.port]: String(upstreamPort) },
  });
  supervisor.start({
    name: "gateway",
    tier: "gateway",
    script: "services/gateway/main.ts",
    port: gatewayPort!,
    env: gatewayEnv,
  });
  supervisor.start({
    name: "router",
    tier: "router",
    script: "services/router/main.ts",
    port: routerPort!,
    env: routerEnv,
  });
  if (baseline) {
    const port = (p: number) => ({ [envKey.port]: String(p) });
    baseline.start({
      name: "gateway",
      tier: "gateway",
      script: "services/gateway/main.ts",
      port: baseGateway!,
      env: { ...gatewayEnv, ...port(baseGateway!) },
    });
    baseline.start({
      name: "router",
      tier: "router",
      script: "services/router/main.ts",
      port: baseRouter!,
      env: { ...routerEnv, ...port(baseRouter!) },
    });
    await baseline.waitReady(60_000);
  }
  await supervisor.waitReady(60_000);
  bare = await startBareProxy(barePort!, upstream);
  nginx = await startNginx({ port: nginxPort!, upstream });

  const nginxPid = nginx.pid;
  const barePid = bare.pid;
  const hops: Hop[] = [
    {
      name: "nginx",
      url: nginx.url,
      pids: () => [nginxPid, ...childPids(nginxPid)],
      cpuUs: [],
      rps: [],
    },
    { name: "bare Node proxy", url: bare.url, pids: () => [barePid], cpuUs: [], rps: [] },
    {
      name: "router",
      url: `http://127.0.0.1:${routerPort}`,
      pids: () => [supervisor.pid("router")],
      cpuUs: [],
      rps: [],
    },
    {
      name: "business gateway",
      url: `http://127.0.0.1:${gatewayPort}`,
      pids: () => [supervisor.pid("gateway")],
      keys: Array.from({ length: 500 }, () => generateKey()),
      cpuUs: [],
      rps: [],
    },
  ];
  if (baseline)
    hops.push(
      {
        name: "router, baseline",
        url: `http://127.0.0.1:${baseRouter}`,
        pids: () => [baseline.pid("router")],
        cpuUs: [],
        rps: [],
      },
      {
        name: "gateway, baseline",
        url: `http://127.0.0.1:${baseGateway}`,
        pids: () => [baseline.pid("gateway")],
        keys: Array.from({ length: 500 }, () => generateKey()),
        cpuUs: [],
        rps: [],
      },
    );
  console.log(
    `hop cost: GET ${PATH} to a trivial upstream, ${rounds} rounds of ${durationS} s runs, ${connections} connections`,
  );
  let valid = true;
  for (let round = 0; round <= rounds; round++) {
    for (const hop of hops) {
      const cpu = (pids: number[]) => pids.reduce((sum, pid) => sum + cpuMs(pid), 0);
      const pids = hop.pids();
      const before = cpu(pids);
      const result = await loadRun({
        target: hop.url,
        path: PATH,
        connections,
        durationSeconds: durationS,
        headers: {},
        apiKeys: hop.keys,
        distinctSources: true,
      });
      const us = ((cpu(pids) - before) * 1000) / (result.rps * durationS);
      const invalid = result.non2xx + result.errors > 0;
      if (invalid) valid = false;
      console.log(
        `${round === 0 ? "warm-up" : `round ${round}`} ${hop.name.padEnd(17)} ${result.rps.toFixed(0).padStart(6)} rps  ${us.toFixed(0).padStart(4)} us CPU per request${invalid ? `  INVALID: ${result.statuses}, ${result.errors} errors` : ""}`,
      );
      if (round === 0) continue;
      hop.cpuUs.push(us);
      hop.rps.push(result.rps);
    }
  }
  const [n, b, r, g] = hops.map((h) => median(h.cpuUs)) as [number, number, number, number];
  console.log("");
  console.log("medians over the rounds:");
  printFigures(
    hops.map((h) => [
      h.name,
      `${median(h.cpuUs).toFixed(0).padStart(4)} us CPU per request   ${median(h.rps).toFixed(0).padStart(6)} rps`,
    ]),
  );
  printFigures([
    ["gateway / nginx, CPU", `${(g / n).toFixed(2)}   (the throughput bench's target: <= 3)`],
    ["bare Node / nginx, CPU", `${(b / n).toFixed(2)}   (what any Node hop starts from)`],
    ["gateway / bare Node, CPU", `${(g / b).toFixed(2)}   (issue #15's target: <= 1.5)`],
    ["router / bare Node, CPU", `${(r / b).toFixed(2)}   (issue #15's target: <= 1.25)`],
    ...(baseline
      ? ([
          ["baseline gateway / bare", (median(hops[5]!.cpuUs) / b).toFixed(2)],
          ["baseline router / bare", (median(hops[4]!.cpuUs) / b).toFixed(2)],
        ] as [string, string][])
      : []),
    ["every answer a 2xx", valid ? "yes" : "NO: some runs are invalid (see INVALID above)"],
  ]);
  code = valid ? 0 : 1;
} catch (err) {
  console.error(`bench failed: ${(err as Error).stack ?? err}`);
} finally {
  await Promise.all([nginx?.stop(), bare?.stop(), supervisor.stop(), baseline?.stop()]);
  if (code === 0) rmSync(dir, { recursive: true, force: true });
  else console.error(`logs kept in ${dir}`);
}
process.exit(code);
