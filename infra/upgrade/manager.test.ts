import { catalog } from "../../platform/catalog/index.ts";
import type { UpgradePolicy } from "../../platform/catalog/schema.ts";
import {
  breach,
  shift,
  upgrade,
  type UpgradeArgs,
  type UpgradeTarget,
  type VersionHealth,
  type Weights,
} from "./manager.ts";

// The Upgrade Manager's decisions on a scripted target whose monitoring rounds come every
// second of a clock the test moves. test/e2e/upgrade.test.ts runs it on real gateways and
// monitoring (`npm start`).

const policy: UpgradePolicy = { ...catalog.services["orders"]!.upgrade, holdSeconds: 2 };
const healthy = (at: number): VersionHealth => ({
  at,
  replicas: 2,
  ready: 2,
  requests: 20,
  requestRate: 20,
  errorRate: 0,
  p95Ms: 25,
});

/** A target whose rounds say `round(n, weights)` of the new version; it records what it is told. */
function scripted(round: (n: number, weights: Weights) => Partial<VersionHealth> = () => ({})) {
  let clock = 1_000_000;
  let weights: Weights = { v1: 100, v2: 0 };
  let rounds = 0;
  const calls: string[] = [];
  const target: UpgradeTarget = {
    weights: async () => ({ ...weights }),
    setWeights: async (_s, w) => {
      weights = { ...w };
      calls.push(`set ${JSON.stringify(w)}`);
    },
    health: async (_s, _v, after) => {
      clock = Math.max(clock, after) + 1000;
      return { ...healthy(clock), ...round(++rounds, weights) };
    },
    deploy: async (s, v) => void calls.push(`deploy ${s} ${v}`),
    smoke: async () => undefined,
    settle: async (_s, w) => void calls.push(`settle ${JSON.stringify(w)}`),
  };
  const advance = (ms: number) => void (clock += ms);
  return { target, calls, now: () => clock, advance, lines: [] as string[] };
}

/** An upgrade of orders to v2 on `t`, with its log kept in `t.lines`. */
const upgradeOn = (t: ReturnType<typeof scripted>, overrides: Partial<UpgradeArgs> = {}) =>
  upgrade({
    service: "orders",
    to: "v2",
    strategy: "canary",
    policy,
    target: t.target,
    log: (l) => t.lines.push(l),
    now: t.now,
    ...overrides,
  });

describe("shift", () => {
  it("moves a share to the new version and keeps the others' proportions, adding up to 100", () => {
    expect(shift({ v1: 100, v2: 0 }, "v2", 5)).toEqual({ v1: 95, v2: 5 });
    expect(shift({ v1: 60, v2: 40, v3: 0 }, "v3", 25)).toEqual({ v1: 45, v2: 30, v3: 25 });
    const odd = shift({ v1: 1, v2: 1, v3: 1, v4: 0 }, "v4", 50);
    expect(Object.values(odd).reduce((a, b) => a + b, 0)).toBe(100);
    expect(shift({ v1: 100, v2: 0 }, "v2", 100)).toEqual({ v1: 0, v2: 100 });
  });
});

describe("breach", () => {
  it("names the first threshold broken", () => {
    expect(breach(healthy(0), policy)).toBeUndefined();
    expect(breach({ ...healthy(0), ready: 1 }, policy)).toBe(
      "1 of 2 replicas not ready, 2 rounds in a row",
    );
    expect(breach({ ...healthy(0), ready: 1 }, policy, 1)).toBeUndefined();
    expect(breach({ ...healthy(0), errorRate: 1 }, policy)).toBe(
      "error rate 5.0% over the budget of 2.0%",
    );
    expect(breach({ ...healthy(0), p95Ms: 2500 }, policy)).toBe("p95 2500 ms over 1000 ms");
    // No answers in a round is no evidence against the version.
    expect(
      breach({ ...healthy(0), requests: 0, requestRate: 0, p95Ms: undefined }, policy),
    ).toBeUndefined();
  });
});

describe("upgrade", () => {
  it("moves a healthy canary through every step to 100% and records it", async () => {
    const t = scripted();
    const report = await upgradeOn(t);
    expect(report).toMatchObject({ outcome: "completed", after: { v1: 0, v2: 100 } });
    expect(t.calls).toEqual([
      "deploy orders v2",
      'set {"v2":5,"v1":95}',
      'set {"v2":25,"v1":75}',
      'set {"v2":50,"v1":50}',
      'set {"v2":100,"v1":0}',
      'settle {"v2":100,"v1":0}',
    ]);
    expect(t.lines.filter((l) => l.startsWith("step "))).toHaveLength(4);
    expect(t.lines.join("\n")).toContain("v2: 2/2 ready, 20.0 req/s, errors 0.0%, p95 25 ms");
  });

  it("deploys first, and counts the new version's readiness from when it is deployed", async () => {
    // A `pulumi up` (--stack) may take longer than the policy gives a version to become ready;
    // its replicas are not ready in the first round after it.
    const t = scripted((n) => (n === 1 ? { ready: 0 } : {}));
    const report = await upgradeOn(t, {
      target: {
        ...t.target,
        deploy: async (s, v) => {
          await t.target.deploy(s, v);
          t.advance(policy.readySeconds * 2000);
        },
      },
    });
    expect(report.outcome).toBe("completed");
    expect(t.calls[0]).toBe("deploy orders v2");
  });

  it("takes one round with a replica not ready for a late probe, two in a row for a breach", async () => {
    const once = scripted((n) => (n === 3 ? { ready: 1 } : {}));
    expect((await upgradeOn(once)).outcome).toBe("completed");
    expect(once.lines.join("\n")).toContain("(not all ready: watched one more round)");
    const twice = scripted((n) => (n === 3 || n === 4 ? { ready: 1 } : {}));
    expect(await upgradeOn(twice)).toMatchObject({
      outcome: "rolled-back",
      reason: "1 of 2 replicas not ready, 2 rounds in a row",
    });
  });

  it("puts the previous weights back at the first breach, and says why", async () => {
    // From the third step on, a tenth of v2's answers fail.
    const t = scripted((_n, w) => ((w["v2"] ?? 0) >= 50 ? { errorRate: 2 } : {}));
    const report = await upgradeOn(t);
    expect(report).toMatchObject({
      outcome: "rolled-back",
      reason: "error rate 10.0% over the budget of 2.0%",
      after: { v1: 100, v2: 0 },
    });
    expect(t.calls.slice(-3)).toEqual([
      'set {"v2":50,"v1":50}',
      'set {"v1":100,"v2":0}',
      'settle {"v1":100,"v2":0}',
    ]);
    expect(t.lines.join("\n")).toMatch(/BREACH: error rate 10\.0%/);
  });

  it("holds a step past its hold until the new version has answered enough to be judged", async () => {
    // v2 answers 5 requests a round: the 2 s hold sees 10, the policy wants 20, so each step
    // lasts four rounds.
    const t = scripted(() => ({ requests: 5, requestRate: 5 }));
    const report = await upgradeOn(t);
    expect(report.outcome).toBe("completed");
    expect(t.lines.filter((l) => l.startsWith("  v2: "))).toHaveLength(4 * 4);

    // No one calls v2 at its first step: after five holds it is rolled back, not promoted.
    const idle = scripted(() => ({ requests: 0, requestRate: 0, p95Ms: undefined }));
    const starved = await upgradeOn(idle);
    expect(starved).toMatchObject({
      outcome: "rolled-back",
      reason: "too little traffic to judge v2: 0 answers in 10 s, the policy wants 20 a step",
      after: { v1: 100, v2: 0 },
    });
    expect(idle.calls.filter((c) => c.startsWith("set "))).toEqual([
      'set {"v2":5,"v1":95}',
      'set {"v1":100,"v2":0}',
    ]);

    // minRequests 0 judges on time alone.
    const timed = scripted(() => ({ requests: 0, requestRate: 0, p95Ms: undefined }));
    expect((await upgradeOn(timed, { policy: { ...policy, minRequests: 0 } })).outcome).toBe(
      "completed",
    );
  });

  it("moves no traffic to a version that is not ready in time, or fails its smoke test", async () => {
    const slow = scripted(() => ({ ready: 1 }));
    const notReady = await upgradeOn(slow, { policy: { ...policy, readySeconds: 5 } });
    expect(notReady).toMatchObject({ outcome: "aborted", after: { v1: 100, v2: 0 } });
    expect(notReady.reason).toMatch(/^v2 not ready within 5 s/);
    expect(slow.calls.filter((c) => c.startsWith("set "))).toEqual([]);

    const smoky = scripted();
    smoky.target.smoke = async () => "GET /v1/orders answered 500";
    const failed = await upgradeOn(smoky, { strategy: "blue-green" });
    expect(failed).toMatchObject({
      outcome: "aborted",
      reason: "smoke test of v2 alone failed: GET /v1/orders answered 500",
    });
    expect(smoky.calls.filter((c) => c.startsWith("set "))).toEqual([]);
  });

  it("sends everything at once for blue-green, and refuses a version the service lacks", async () => {
    const t = scripted();
    const report = await upgradeOn(t, { strategy: "blue-green" });
    expect(report.outcome).toBe("completed");
    expect(t.calls.filter((c) => c.startsWith("set "))).toEqual(['set {"v2":100,"v1":0}']);
    await expect(
      upgrade({
        service: "orders",
        to: "v9",
        strategy: "canary",
        policy,
        target: t.target,
        log: () => undefined,
      }),
    ).rejects.toThrow("orders has no version v9 (known: v2, v1)");
  });
});
