import { badRequest, unavailable } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import { sendToReplicas, type ReplicaSet } from "../shared/upstream.ts";
import type { Plan } from "../user/contract.ts";
import type { QuotaStore } from "./store.ts";

// A plan's limits come from the user service. Each answer is kept `freshMs` in memory so that a
// check costs no extra call, and in the database as the last known plan: while the user service
// cannot answer, quotas keep being enforced with the limits it gave last, even after a restart.

export interface PlanSource {
  /** The plan's limits; a 400 for a plan the user service does not know. */
  get(name: string, requestId: string): Promise<Plan>;
}

export function planSource(opts: {
  user: ReplicaSet;
  store: QuotaStore;
  logger: Logger;
  freshMs?: number;
  now?: () => number;
}): PlanSource {
  const freshMs = opts.freshMs ?? 10_000;
  const now = opts.now ?? Date.now;
  const memory = new Map<string, { plan: Plan; at: number }>();

  async function ask(name: string, requestId: string): Promise<Plan | null | undefined> {
    try {
      const res = await sendToReplicas(opts.user, {
        method: "GET",
        path: `/internal/plans/${encodeURIComponent(name)}`,
        headers: { "x-request-id": requestId },
        retryable: true,
      });
      if (res.statusCode === 404) {
        await res.body.dump();
        return null;
      }
      if (res.statusCode !== 200) {
        await res.body.dump();
        throw new Error(`user answered ${res.statusCode}`);
      }
      return (await res.body.json()) as Plan;
    } catch (err) {
      opts.logger.warn({ err, plan: name, requestId }, "quota: user service unreachable");
      return undefined;
    }
  }

  return {
    async get(name, requestId) {
      const kept = memory.get(name);
      if (kept && now() - kept.at < freshMs) return kept.plan;
      const plan = await ask(name, requestId);
      if (plan === null) {
        memory.delete(name);
        throw badRequest("unknown_plan", `plan: no plan named ${name}`, "plan");
      }
      if (plan) {
        if (JSON.stringify(kept?.plan) !== JSON.stringify(plan)) {
          await opts.store
            .rememberPlan(plan)
            .catch((err: unknown) => opts.logger.warn({ err }, "quota: plan not persisted"));
        }
        memory.set(name, { plan, at: now() });
        return plan;
      }
      const last = kept?.plan ?? (await opts.store.knownPlan(name));
      if (last) return last;
      throw unavailable("quota_unavailable", "plan limits are unavailable; retry shortly");
    },
  };
}
