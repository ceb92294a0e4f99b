// Failure drill 2 (issue 3): a whole service down under load.
//
//   node bench/drills/service-down.ts
//
// Real PostgreSQL and Redis, the default topology. DRILL_CLIENTS simulated clients (default 16)
// list and create orders (with Idempotency-Keys) through the router at DRILL_RATE requests per
// second (default 200). After DRILL_WARMUP_S (5) every orders replica is stopped, and not
// restarted; the load goes on DRILL_DOWN_S (20) more while the drill watches the business
// gateways' circuit breakers (gateway_breaker_state on /metrics).
//
// An answer during the outage counts as answered when it is JSON and one of: 503 with the
// degraded fallback, 202 with the write queued in the dead-letter queue, a cached copy (200 with
// x-cache), or any other 2xx. A time-out, a socket error or another status does not.
// Targets: fallback answers within 50 ms (p99) once a breaker is open; every request answered.
import { setTimeout as sleep } from "node:timers/promises";
import { ClientLoad, simulatedClients, type Outcome } from "../support/clientLoad.ts";
import { envNumber, runDrill } from "../support/drill.ts";
import { scrape } from "../support/metrics.ts";
import {
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
const downS = envNumber("DRILL_DOWN_S", 20);
const targetMs = 50;

/** Which fallback answered, or undefined when the answer is not one. */
function fallbackKind(o: Outcome): string | undefined {
  const body = o.body as { object?: string; error?: { code?: string } } | undefined;
  if (o.status === 503 && body?.error?.code === "service_degraded") return "503 degraded";
  if (o.status === 202 && body?.object === "queued_request") return "202 queued (DLQ)";
  if (o.status === 200 && o.xCache === "STALE-IF-ERROR") return "200 stale-if-error";
  return undefined;
}

const answered = (o: Outcome) =>
  fallbackKind(o) !== undefined || (o.status >= 200 && o.status < 300);

await runDrill(
  { name: "service-down", title: "stop every orders replica under load" },
  async (topology) => {
    const orders = topology.serviceReplicas("orders");
    const gateways = topology.gatewayReplicas("orders");
    const keys = await topology.createKeys(clients);
    const load = ClientLoad.start({
      target: topology.base,
      clients: simulatedClients(keys, clients),
      next: ordersMix(`down-${Date.now().toString(36)}`),
      ratePerSecond: rate,
      maxSeconds: warmupS + downS + 60,
    });
    await sleep(warmupS * 1000);

    const stopAt = load.now();
    await Promise.all(orders.map((o) => topology.supervisor.stopProcess(o.name)));
    const downAt = load.now();
    console.log(
      `stopped ${orders.map((o) => o.name).join(", ")}: SIGTERM at ${(stopAt / 1000).toFixed(1)} s, all exited at ${(downAt / 1000).toFixed(1)} s (they drain first)`,
    );

    // The first moment each gateway's breaker for orders is not closed (open or half-open).
    const openedAt = new Map<string, number>();
    for (const end = Date.now() + downS * 1000; Date.now() < end; await sleep(100)) {
      for (const g of gateways) {
        if (openedAt.has(g.name)) continue;
        const state = await scrape(g.port, "gateway_breaker_state", { upstream: "orders" });
        if (state !== undefined && state > 0) openedAt.set(g.name, load.now());
      }
    }
    const outcomes = await load.stop();

    const during = outcomes.filter((o) => o.at >= downAt);
    const fallbacks = during.filter((o) => fallbackKind(o) !== undefined);
    const firstOpen = Math.min(...openedAt.values());
    const afterOpen = fallbacks.filter((o) => o.at >= firstOpen);
    const beforeOpen = fallbacks.filter((o) => o.at < firstOpen);
    const firstFallback = fallbacks[0] ?? during.find((o) => fallbackKind(o) !== undefined);
    const firstAfterOpen = afterOpen.reduce<Outcome | undefined>(
      (a, o) => (a === undefined || o.at + o.ms < a.at + a.ms ? o : a),
      undefined,
    );
    const kinds = new Map<string, number>();
    for (const o of fallbacks) kinds.set(fallbackKind(o)!, (kinds.get(fallbackKind(o)!) ?? 0) + 1);
    const unanswered = during.filter((o) => !answered(o));
    const share = during.length === 0 ? 0 : (during.length - unanswered.length) / during.length;
    const p50 = percentile(
      afterOpen.map((o) => o.ms),
      50,
    );
    const p99 = percentile(
      afterOpen.map((o) => o.ms),
      99,
    );
    const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

    printFigures([
      ["clients / offered rate", `${clients} / ${rate} req/s`],
      ["requests while orders was down", `${during.length}`],
      ["  answers", statusHistogram(during)],
      ["  fallback answers", [...kinds].map(([k, n]) => `${k}: ${n}`).join(", ") || "none"],
      [
        "breaker opened (per gateway)",
        gateways
          .map(
            (g) =>
              `${g.name} ${openedAt.has(g.name) ? `+${sec(openedAt.get(g.name)! - downAt)}` : "never"}`,
          )
          .join(", ") + " after orders was down",
      ],
      [
        "first fallback answer",
        firstFallback
          ? `+${sec(firstFallback.at + firstFallback.ms - downAt)} after orders was down`
          : "none",
      ],
      [
        "first fallback after the breaker opened",
        firstAfterOpen
          ? `+${fmtMs(firstAfterOpen.at + firstAfterOpen.ms - firstOpen)} after it opened`
          : "none",
      ],
      [
        "fallback latency, breaker open",
        `p50 ${fmtMs(p50)}, p99 ${fmtMs(p99)}, max ${fmtMs(Math.max(...afterOpen.map((o) => o.ms)))} (${afterOpen.length} answers)`,
      ],
      ...[...kinds.keys()].map((kind): [string, string] => {
        const ms = afterOpen.filter((o) => fallbackKind(o) === kind).map((o) => o.ms);
        return [`  ${kind}`, `p50 ${fmtMs(percentile(ms, 50))}, p99 ${fmtMs(percentile(ms, 99))}`];
      }),
      [
        "fallback latency, before it opened",
        `p50 ${fmtMs(
          percentile(
            beforeOpen.map((o) => o.ms),
            50,
          ),
        )}, p99 ${fmtMs(
          percentile(
            beforeOpen.map((o) => o.ms),
            99,
          ),
        )} (${beforeOpen.length} answers)`,
      ],
      [
        "share of requests answered",
        `${(share * 100).toFixed(2)}% (${unanswered.length} not answered)`,
      ],
    ]);
    for (const u of unanswered.slice(0, 5))
      console.log(
        `  e.g. ${u.kind} at +${sec(u.at - downAt)}: ${u.status || u.error} ${JSON.stringify(u.body ?? "")}`,
      );
    const passed =
      openedAt.size > 0 && afterOpen.length > 0 && p99 < targetMs && unanswered.length === 0;
    return (
      verdict(passed, `fallback p99 < ${targetMs} ms once the breaker is open, 100% answered`) === 0
    );
  },
);
