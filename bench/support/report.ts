import type { LoadRequest, Outcome } from "./clientLoad.ts";

/** The value below which `p` percent of `values` fall (nearest rank); NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** The middle value of `xs` (the mean of the two middle ones for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** `ms` with one decimal, or `-` when there was nothing to measure. */
export function fmtMs(ms: number): string {
  return Number.isNaN(ms) ? "-" : `${ms.toFixed(1)} ms`;
}

/** `200: 812, 503: 4, no answer (UND_ERR_SOCKET): 1`, by count. */
export function statusHistogram(outcomes: readonly Outcome[]): string {
  const counts = new Map<string, number>();
  for (const o of outcomes) {
    const key = o.status === 0 ? `no answer (${o.error})` : String(o.status);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return (
    [...counts]
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k}: ${n}`)
      .join(", ") || "none"
  );
}

/** A failed client request: no answer, or an answer that is not a 2xx. */
export const failed = (o: Outcome) => o.status < 200 || o.status >= 300;

/** Prints `label  value` lines aligned on the values. */
export function printFigures(rows: readonly [string, string][]): void {
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  for (const [label, value] of rows) console.log(`${label.padEnd(width)}${value}`);
}

/** Prints the PASS/FAIL line and returns the exit code. */
export function verdict(passed: boolean, target: string): number {
  console.log(`${passed ? "PASS" : "FAIL"} (target: ${target})`);
  return passed ? 0 : 1;
}

/**
 * The drills' traffic: a client's requests alternate between listing its orders and creating one
 * with an Idempotency-Key (unique per request, so each is a new order), the mix of issue 3.
 */
export function ordersMix(run: string): (client: number, seq: number) => LoadRequest {
  return (client, seq) =>
    seq % 2 === 0
      ? { kind: "GET /v1/orders", method: "GET", path: "/v1/orders?limit=20" }
      : {
          kind: "POST /v1/orders",
          method: "POST",
          path: "/v1/orders",
          headers: {
            "content-type": "application/json",
            "idempotency-key": `${run}-${client}-${seq}`,
          },
          body: JSON.stringify({ item: `${run}-${client}-${seq}`, quantity: 1 }),
        };
}
