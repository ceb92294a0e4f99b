// Failure drill 1 (issue 3): one replica of a service killed under load.
//
//   node bench/drills/kill-replica.ts
//
// Real PostgreSQL and Redis, the default topology. DRILL_CLIENTS simulated clients (default 16,
// each with its own key and address) list and create orders through the router at DRILL_RATE
// requests per second in all (default 200). After DRILL_WARMUP_S (5) one orders replica gets
// SIGKILL; the supervisor restarts it as an orchestrator would; the load goes on DRILL_AFTER_S
// (15) more. Target: no failed client request (every answer a 2xx, none missing).
import { setTimeout as sleep } from "node:timers/promises";
import { ClientLoad, simulatedClients } from "../support/clientLoad.ts";
import { envNumber, runDrill } from "../support/drill.ts";
import {
  failed,
  fmtMs,
  ordersMix,
  percentile,
  printFigures,
  statusHistogram,
  verdict,
} from "../support/report.ts";

const clients = envNumber("DRILL_CLIENTS", 16);
const rate = envNumber("DRILL_RATE", 200);
const warmupS = envNumber("DRILL_WARMUP_S", 5);
const afterS = envNumber("DRILL_AFTER_S", 15);

await runDrill(
  { name: "kill-replica", title: "SIGKILL one orders replica under load" },
  async (topology) => {
    const victim = topology.serviceReplicas("orders")[0]!;
    const keys = await topology.createKeys(clients);
    const run = `kill-${Date.now().toString(36)}`;
    const load = ClientLoad.start({
      target: topology.base,
      clients: simulatedClients(keys, clients),
      next: ordersMix(run),
      ratePerSecond: rate,
      maxSeconds: warmupS + afterS + 30,
    });
    await sleep(warmupS * 1000);

    const pid = topology.supervisor.pid(victim.name);
    const killedAt = load.now();
    process.kill(pid, "SIGKILL");
    console.log(`SIGKILL ${victim.name} (pid ${pid}) at ${(killedAt / 1000).toFixed(1)} s`);
    // The supervisor restarts it after 500 ms; see when its successor answers /readyz.
    let backAfterMs = NaN;
    for (const end = Date.now() + afterS * 1000; Date.now() < end; await sleep(100)) {
      if (!Number.isNaN(backAfterMs) || topology.supervisor.pid(victim.name) === pid) continue;
      const ok = await fetch(`http://127.0.0.1:${victim.port}/readyz`)
        .then((r) => r.ok)
        .catch(() => false);
      if (ok) backAfterMs = load.now() - killedAt;
    }
    const outcomes = await load.stop();

    const before = outcomes.filter((o) => o.at < killedAt);
    const after = outcomes.filter((o) => o.at >= killedAt);
    const failures = outcomes.filter(failed);
    const seconds = load.now() / 1000;
    const lat = (os: typeof outcomes) => os.filter((o) => !failed(o)).map((o) => o.ms);
    printFigures([
      ["clients / offered rate", `${clients} / ${rate} req/s`],
      ["requests sent", `${outcomes.length} in ${seconds.toFixed(1)} s`],
      ["answers", statusHistogram(outcomes)],
      ["  GET /v1/orders", statusHistogram(outcomes.filter((o) => o.kind.startsWith("GET")))],
      ["  POST /v1/orders", statusHistogram(outcomes.filter((o) => o.kind.startsWith("POST")))],
      [
        "latency before the kill",
        `p50 ${fmtMs(percentile(lat(before), 50))}, p99 ${fmtMs(percentile(lat(before), 99))}`,
      ],
      [
        "latency after the kill",
        `p50 ${fmtMs(percentile(lat(after), 50))}, p99 ${fmtMs(percentile(lat(after), 99))}, max ${fmtMs(Math.max(...lat(after)))}`,
      ],
      [
        "killed replica ready again",
        Number.isNaN(backAfterMs)
          ? "not within the drill"
          : `${(backAfterMs / 1000).toFixed(1)} s after the kill`,
      ],
      ["failed client requests", String(failures.length)],
    ]);
    for (const f of failures.slice(0, 5))
      console.log(
        `  e.g. ${f.kind} at ${(f.at / 1000).toFixed(2)} s: ${f.status || f.error} ${JSON.stringify(f.body ?? "")}`,
      );
    return verdict(failures.length === 0 && outcomes.length > 0, "0 failed requests") === 0;
  },
);
