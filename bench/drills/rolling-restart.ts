// Failure drill 5 (issue 3): rolling restart of every replica of a tier, under load.
//
//   node bench/drills/rolling-restart.ts
//
// Real PostgreSQL and Redis, the default topology. DRILL_CLIENTS simulated clients (default 16)
// list and create orders through the router at DRILL_RATE requests per second (default 200).
// After DRILL_WARMUP_S (5), the tiers in DRILL_TIERS (default: business gateways, orders,
// routers) are restarted one replica at a time, as a rolling update does: SIGTERM (the replica
// drains: readiness 503 and `Connection: close` for 1.5 s, then it stops accepting and finishes
// what it has), start its successor, wait until it answers /readyz, next replica. The load goes
// on DRILL_SETTLE_S (3) after the last one. Target: no failed client request.
import { setTimeout as sleep } from "node:timers/promises";
import type { ProcessSpec } from "../../stacks/local/topology.ts";
import { ClientLoad, simulatedClients, type Outcome } from "../support/clientLoad.ts";
import { envNumber, runDrill } from "../support/drill.ts";
import type { BenchTopology } from "../support/topology.ts";
import { failed, ordersMix, printFigures, statusHistogram, verdict } from "../support/report.ts";

const clients = envNumber("DRILL_CLIENTS", 16);
const rate = envNumber("DRILL_RATE", 200);
const warmupS = envNumber("DRILL_WARMUP_S", 5);
const settleS = envNumber("DRILL_SETTLE_S", 3);

const tiers: Record<string, (t: BenchTopology) => ProcessSpec[]> = {
  "business-gateways": (t) => t.gatewayReplicas("orders"),
  orders: (t) => t.serviceReplicas("orders"),
  routers: (t) => t.routerReplicas(),
};
const chosen = (process.env["DRILL_TIERS"] || Object.keys(tiers).join(",")).split(",");
for (const tier of chosen) {
  if (!tiers[tier])
    throw new Error(`DRILL_TIERS: unknown tier ${tier} (${Object.keys(tiers).join(", ")})`);
}

interface Step {
  tier: string;
  name: string;
  from: number;
  to: number;
}

await runDrill(
  { name: "rolling-restart", title: `rolling restart of ${chosen.join(", ")} under load` },
  async (topology) => {
    const keys = await topology.createKeys(clients);
    const load = ClientLoad.start({
      target: topology.base,
      clients: simulatedClients(keys, clients),
      next: ordersMix(`roll-${Date.now().toString(36)}`),
      ratePerSecond: rate,
      maxSeconds: 600,
    });
    await sleep(warmupS * 1000);

    const steps: Step[] = [];
    for (const tier of chosen) {
      for (const replica of tiers[tier]!(topology)) {
        const from = load.now();
        await topology.supervisor.restartProcess(replica.name);
        steps.push({ tier, name: replica.name, from, to: load.now() });
        console.log(
          `restarted ${replica.name} in ${((load.now() - from) / 1000).toFixed(1)} s (drain, stop, start, ready)`,
        );
      }
    }
    await sleep(settleS * 1000);
    const outcomes = await load.stop();

    const during = (o: Outcome) => steps.find((s) => o.at >= s.from && o.at < s.to);
    const failures = outcomes.filter(failed);
    const rows: [string, string][] = [
      ["clients / offered rate", `${clients} / ${rate} req/s`],
      ["requests sent", `${outcomes.length} in ${(load.now() / 1000).toFixed(1)} s`],
      ["answers", statusHistogram(outcomes)],
    ];
    for (const tier of chosen) {
      const mine = steps.filter((s) => s.tier === tier);
      const sent = outcomes.filter((o) => mine.includes(during(o)!));
      rows.push([
        `while restarting ${tier}`,
        `${sent.length} requests, ${sent.filter(failed).length} failed (${statusHistogram(sent.filter(failed))})`,
      ]);
    }
    rows.push(["failed client requests", String(failures.length)]);
    printFigures(rows);
    for (const f of failures.slice(0, 10))
      console.log(
        `  e.g. ${f.kind} at ${(f.at / 1000).toFixed(2)} s (${during(f)?.name ?? "between restarts"}): ${f.status || f.error} ${JSON.stringify(f.body ?? "")}`,
      );
    return verdict(failures.length === 0 && outcomes.length > 0, "0 failed requests") === 0;
  },
);
