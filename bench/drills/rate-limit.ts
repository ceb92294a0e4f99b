// Failure drill 4 (issue 3): a burst from one API key across both gateway replicas.
//
//   node bench/drills/rate-limit.ts
//
// Real PostgreSQL and Redis, the default topology. One fresh API key sends DRILL_BURST requests
// (default twice its limit) of GET /v1/orders?limit=20 as fast as DRILL_CLIENTS connections
// (default 64, each from its own loopback address so that the per-address limit stays out of
// the way) can, through the router, which spreads them over both business gateway replicas.
//
// The key's limit is the catalog's (orders: 600 per 60 s, GCRA with bursts of up to 600). GCRA
// also lets the rate through while the burst lasts (600/60 s = 10 more per second), so what may
// pass is limit + span x rate, the span being the burst's duration seen by the client (a little
// longer than Redis sees it). Target: requests allowed within 1% of the limit: at least 99% of
// it, and at most 1% more than limit + span x rate.
import { catalog } from "../../platform/catalog/index.ts";
import { ClientLoad, simulatedClients } from "../support/clientLoad.ts";
import { envNumber, runDrill } from "../support/drill.ts";
import { scrape } from "../support/metrics.ts";
import { printFigures, statusHistogram, verdict } from "../support/report.ts";

const { limit, windowSeconds } = catalog.services["orders"]!.traffic.rateLimit.perKey;
const burst = envNumber("DRILL_BURST", 2 * limit);
const clients = envNumber("DRILL_CLIENTS", 64);

await runDrill(
  { name: "rate-limit", title: `a burst of ${burst} requests from one API key across replicas` },
  async (topology) => {
    const [key] = await topology.createKeys(1);
    const gateways = topology.gatewayReplicas("orders");
    const served = async () =>
      Promise.all(
        gateways.map(async (g) => ({
          ok:
            (await scrape(g.port, "http_requests_total", { route: "/v1/orders", status: "200" })) ??
            0,
          refused:
            (await scrape(g.port, "gateway_ratelimit_rejections_total", { route: "/v1/orders" })) ??
            0,
        })),
      );
    const before = await served();
    const load = ClientLoad.start({
      target: topology.base,
      clients: simulatedClients([key!], clients),
      next: () => ({ kind: "GET", method: "GET", path: "/v1/orders?limit=20" }),
      ratePerSecond: 1e6,
      maxRequests: burst,
      maxSeconds: 120,
    });
    const outcomes = await load.done();
    const after = await served();

    const allowed = outcomes.filter((o) => o.status >= 200 && o.status < 300);
    const refused = outcomes.filter((o) => o.status === 429);
    const other = outcomes.length - allowed.length - refused.length;
    const start = Math.min(...outcomes.map((o) => o.at));
    const spanS = (Math.max(...allowed.map((o) => o.at + o.ms)) - start) / 1000;
    const ceiling = limit + (spanS * limit) / windowSeconds;
    const perGateway = gateways.map(
      (g, i) =>
        `${g.name} ${after[i]!.ok - before[i]!.ok} allowed / ${after[i]!.refused - before[i]!.refused} refused`,
    );
    printFigures([
      ["limit of the key", `${limit} per ${windowSeconds} s (GCRA, burst ${limit})`],
      ["burst", `${outcomes.length} requests over ${clients} connections`],
      ["answers", statusHistogram(outcomes)],
      ["by gateway replica", perGateway.join(", ")],
      [
        "burst lasted",
        `${spanS.toFixed(2)} s (the rate lets ${(ceiling - limit).toFixed(1)} more through meanwhile)`,
      ],
      ["allowed / limit", `${allowed.length} / ${limit} = ${(allowed.length / limit).toFixed(4)}`],
      [
        "allowed / (limit + span x rate)",
        `${allowed.length} / ${ceiling.toFixed(1)} = ${(allowed.length / ceiling).toFixed(4)}`,
      ],
    ]);
    const bothServed = after.every(
      (a, i) => a.ok - before[i]!.ok > 0 && a.refused - before[i]!.refused > 0,
    );
    if (!bothServed) console.log("both gateway replicas must allow and refuse part of the burst");
    const passed =
      bothServed &&
      other === 0 &&
      allowed.length >= limit * 0.99 &&
      allowed.length <= ceiling + limit * 0.01;
    return (
      verdict(
        passed,
        `allowed within 1% of ${limit} (+ ${(ceiling - limit).toFixed(1)} let through by the rate during the burst), on both replicas`,
      ) === 0
    );
  },
);
