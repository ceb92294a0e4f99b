import type { UpgradePolicy } from "../../platform/catalog/schema.ts";

// The Upgrade Manager (the seeds' upgrade layer): moves a service's traffic to a new version
// step by step, judging the new version on what monitoring saw of it in each round, and puts the
// previous weights back at the first breach of the catalog's thresholds. It knows nothing of
// the target: an `UpgradeTarget` deploys, moves weights (the gateways' version routers, live,
// no restart) and reads monitoring. `npm run upgrade` (main.ts) runs it.

/** Traffic share of each version of a service, in percent; they add up to 100. */
export type Weights = Record<string, number>;

/** What one monitoring round saw of a version's replicas. */
export interface VersionHealth {
  /** When the round finished (ms since the epoch). */
  at: number;
  replicas: number;
  ready: number;
  /** Answers over the round, and the same per second, and those per second that were 5xx. */
  requests: number;
  requestRate: number;
  errorRate: number;
  /** The slowest replica's p95 over the round, in ms; unset when it answered nothing. */
  p95Ms?: number;
}

export interface UpgradeTarget {
  /** The weights the gateways apply now. */
  weights(service: string): Promise<Weights>;
  /** Sets the weights on every gateway replica of the service's tier. */
  setWeights(service: string, weights: Weights): Promise<void>;
  /** The first monitoring round that finished after `after` (ms), for one version. */
  health(service: string, version: string, after: number): Promise<VersionHealth>;
  /** Brings the version up at weight 0 where it does not run yet; the upgrade's first step. */
  deploy(service: string, version: string): Promise<void>;
  /** A few requests pinned to the version alone; a message when one fails. */
  smoke(service: string, version: string): Promise<string | undefined>;
  /** Keeps the final weights where the target records them (its stack config). */
  settle(service: string, weights: Weights): Promise<void>;
}

export type Strategy = "canary" | "blue-green";

export interface UpgradeArgs {
  service: string;
  to: string;
  strategy: Strategy;
  policy: UpgradePolicy;
  target: UpgradeTarget;
  log: (line: string) => void;
  now?: () => number;
}

export interface UpgradeReport {
  outcome: "completed" | "rolled-back" | "aborted";
  /** Why it rolled back or stopped. */
  reason?: string;
  before: Weights;
  after: Weights;
  /** From the start to the weights that send 100% to the new version (completed only). */
  secondsToFull?: number;
  /** From the breach seen to the previous weights set on every gateway (rolled back only). */
  rollbackSeconds?: number;
  /** From the weights of the step that broke to the monitoring round that showed it. */
  detectedSeconds?: number;
}

/**
 * `before` with `pct` percent moved to `to`: the other versions keep their shares of the rest
 * in proportion (largest remainders), so the weights still add up to 100.
 */
export function shift(before: Weights, to: string, pct: number): Weights {
  const others = Object.keys(before).filter((v) => v !== to);
  const base = others.reduce((sum, v) => sum + (before[v] ?? 0), 0);
  const rest = 100 - pct;
  const exact = others.map((v) => ({
    v,
    share: base === 0 ? rest / others.length : (rest * (before[v] ?? 0)) / base,
  }));
  const out: Weights = { [to]: pct };
  for (const { v, share } of exact) out[v] = Math.floor(share);
  let left = rest - exact.reduce((sum, { v }) => sum + out[v]!, 0);
  for (const { v } of [...exact].sort(
    (a, b) => b.share - Math.floor(b.share) - (a.share - Math.floor(a.share)),
  )) {
    if (left-- <= 0) break;
    out[v]! += 1;
  }
  return out;
}

/**
 * Rounds in a row in which a replica of the new version is seen not ready before that is a
 * breach: one probe answered late on a busy machine is not a failing version (a CI run of the
 * Docker stack rolled back a sound v2 on one such round).
 */
export const NOT_READY_ROUNDS = 2;

/**
 * The first threshold `h` breaks, as one sentence, or undefined; `notReadyRounds` counts the
 * rounds in a row, this one included, in which not every replica was ready.
 */
export function breach(
  h: VersionHealth,
  policy: UpgradePolicy,
  notReadyRounds = NOT_READY_ROUNDS,
): string | undefined {
  if (h.ready < h.replicas && notReadyRounds >= NOT_READY_ROUNDS)
    return `${h.replicas - h.ready} of ${h.replicas} replicas not ready, ${notReadyRounds} rounds in a row`;
  const share = h.requestRate > 0 ? h.errorRate / h.requestRate : 0;
  if (share > policy.maxErrorRate)
    return `error rate ${pct(share)} over the budget of ${pct(policy.maxErrorRate)}`;
  if (h.p95Ms !== undefined && h.p95Ms > policy.maxP95Ms)
    return `p95 ${h.p95Ms} ms over ${policy.maxP95Ms} ms`;
  return undefined;
}

/** A step that has not gathered `minRequests` answers after this many holds is rolled back. */
export const STARVED_HOLDS = 5;

const pct = (share: number) => `${(share * 100).toFixed(1)}%`;
const describe = (w: Weights) =>
  Object.entries(w)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([v, n]) => `${v} ${n}%`)
    .join(", ");
const figures = (h: VersionHealth) =>
  `${h.ready}/${h.replicas} ready, ${h.requestRate.toFixed(1)} req/s, ` +
  `errors ${pct(h.requestRate > 0 ? h.errorRate / h.requestRate : 0)}, ` +
  `p95 ${h.p95Ms === undefined ? "-" : `${h.p95Ms} ms`}`;

export async function upgrade(a: UpgradeArgs): Promise<UpgradeReport> {
  const now = a.now ?? Date.now;
  const started = now();
  const { service, to, policy, target } = a;
  // First, so that a version the target deploys now (`--stack`: a `pulumi up`) is in the weights.
  await target.deploy(service, to);
  const before = await target.weights(service);
  if (!(to in before))
    throw new Error(
      `${service} has no version ${to} (known: ${Object.keys(before).join(", ")}); add it to the catalog at weight 0 first`,
    );
  const stop = (outcome: "aborted", reason: string): UpgradeReport => {
    a.log(`aborted: ${reason}; traffic was not moved (${describe(before)})`);
    return { outcome, reason, before, after: before };
  };
  a.log(`${service}: ${describe(before)} -> ${to} by ${a.strategy}`);
  if (before[to] === 100) {
    a.log(`${to} already takes all the traffic`);
    return { outcome: "completed", before, after: before, secondsToFull: 0 };
  }

  // Ready: every replica of the new version passes its checks in one monitoring round, counted
  // from when it was deployed.
  const readyBy = now() + policy.readySeconds * 1000;
  let seen = now();
  for (;;) {
    const h = await target.health(service, to, seen);
    seen = h.at;
    if (h.replicas > 0 && h.ready === h.replicas) {
      a.log(`${to} ready: ${figures(h)}`);
      break;
    }
    if (now() > readyBy)
      return stop("aborted", `${to} not ready within ${policy.readySeconds} s (${figures(h)})`);
  }
  if (a.strategy === "blue-green") {
    const failed = await target.smoke(service, to);
    if (failed) return stop("aborted", `smoke test of ${to} alone failed: ${failed}`);
    a.log(`smoke test of ${to} alone passed`);
  }

  const steps = a.strategy === "canary" ? policy.canarySteps : [100];
  let fullAt = started;
  // Rounds in a row, across steps, in which not every replica of the new version was ready.
  let notReady = 0;
  for (const [i, step] of steps.entries()) {
    const weights = shift(before, to, step);
    await target.setWeights(service, weights);
    const setAt = now();
    if (step === 100) fullAt = setAt;
    a.log(`step ${i + 1}/${steps.length}: ${describe(weights)}`);
    // Watched for the hold, and past it until the new version has answered enough to be judged:
    // a step that saw no traffic proves nothing. Every round that ends after the weights
    // changed is judged.
    let last = setAt;
    let answered = 0;
    const holdMs = policy.holdSeconds * 1000;
    for (;;) {
      const waited = now() - setAt;
      if (waited >= holdMs && answered >= policy.minRequests) break;
      const h = await target.health(service, to, last);
      last = h.at;
      answered += h.requests;
      notReady = h.ready < h.replicas ? notReady + 1 : 0;
      const broken =
        breach(h, policy, notReady) ??
        (now() - setAt >= holdMs * STARVED_HOLDS && answered < policy.minRequests
          ? `too little traffic to judge ${to}: ${answered} answers in ${((now() - setAt) / 1000).toFixed(0)} s, the policy wants ${policy.minRequests} a step`
          : undefined);
      const note = broken
        ? `  BREACH: ${broken}`
        : notReady > 0
          ? "  (not all ready: watched one more round)"
          : "";
      a.log(`  ${to}: ${figures(h)}${note}`);
      if (broken) {
        const seenAt = now();
        await target.setWeights(service, before);
        const rollbackSeconds = (now() - seenAt) / 1000;
        const detectedSeconds = (seenAt - setAt) / 1000;
        a.log(
          `rolled back to ${describe(before)} in ${rollbackSeconds.toFixed(3)} s, the breach seen ${detectedSeconds.toFixed(1)} s after the step`,
        );
        await target.settle(service, before);
        return {
          outcome: "rolled-back",
          reason: broken,
          before,
          after: before,
          rollbackSeconds,
          detectedSeconds,
        };
      }
    }
  }
  const after = shift(before, to, 100);
  await target.settle(service, after);
  const secondsToFull = (fullAt - started) / 1000;
  a.log(
    `completed: ${describe(after)}, all traffic on ${to} ${secondsToFull.toFixed(1)} s after the start, watched ${((now() - fullAt) / 1000).toFixed(1)} s more`,
  );
  return { outcome: "completed", before, after, secondsToFull };
}
