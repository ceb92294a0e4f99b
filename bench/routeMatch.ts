// The cost of deciding a request's route (`matchRoute`, which the router and every gateway call
// once per request) at 10 and at 1 000 catalog routes, side by side in one run (issue #15: the
// match must cost the same at 1 000 routes as at 10):
//
//   npm run bench:route-match
//
// Each table holds `/v1/r0` ... `/v1/r<n-1>`. Every round times MATCH_CALLS matches of a mix that
// is the worst case of a scan (the last route, below it, and a path no route claims) on each
// table in turn, five rounds; the medians of the time per match are compared. Exits non-zero when
// 1 000 routes cost more than 1.25 x 10 routes.
import { matchRoute, type RoutingRule } from "../platform/catalog/topology.ts";
import { envNumber } from "./support/drill.ts";
import { median, printFigures, verdict } from "./support/report.ts";

const CALLS = envNumber("MATCH_CALLS", 300_000);
const ROUNDS = 5;
const TARGET = 1.25;

function table(n: number): RoutingRule[] {
  return Array.from({ length: n }, (_, i) => ({
    prefix: `/v1/r${i}`,
    domain: "d",
    service: `s${i}`,
  }));
}

function paths(n: number): string[] {
  return [`/v1/r${n - 1}`, `/v1/r${n - 1}/item_42`, "/v1/nobody/here"];
}

/** Nanoseconds per match, over CALLS matches. */
function time(rules: readonly RoutingRule[], mix: readonly string[]): number {
  let found = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) if (matchRoute(rules, mix[i % mix.length]!)) found++;
  const ns = Number(process.hrtime.bigint() - start) / CALLS;
  // Two of every three paths have an owner; another count means the match is broken.
  if (Math.abs(found - (2 * CALLS) / 3) > 1) throw new Error(`matched ${found} of ${CALLS}`);
  return ns;
}

const sizes = [10, 1_000] as const;
const tables = sizes.map((n) => ({ n, rules: table(n), mix: paths(n) }));
// Warm-up, so that both tables run optimised code.
for (const t of tables) time(t.rules, t.mix);
const samples = new Map<number, number[]>(sizes.map((n) => [n, []]));
for (let round = 0; round < ROUNDS; round++)
  for (const t of tables) samples.get(t.n)!.push(time(t.rules, t.mix));

const [small, large] = sizes.map((n) => median(samples.get(n)!));
const ratio = large! / small!;
printFigures([
  ["matches per round", String(CALLS)],
  ["10 routes, per match", `${small!.toFixed(1)} ns`],
  ["1 000 routes, per match", `${large!.toFixed(1)} ns`],
  ["1 000 / 10", `${ratio.toFixed(2)}x`],
]);
process.exitCode = verdict(ratio <= TARGET, `1 000 routes <= ${TARGET}x 10 routes`);
