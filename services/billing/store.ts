import { CONSUMER_MIGRATION } from "../shared/consumer.ts";
import type { Db } from "../shared/sql/db.ts";
import type { ModelUsage, UsageEventData, UsageReport } from "./contract.ts";
import { costNanos, usd } from "./prices.ts";

// Usage summed per user, per period and per model. Each usage adds to two rows, its UTC day and
// its UTC month (the periods a bill is asked for), in the transaction that records its event id,
// so a redelivered event adds nothing (services/shared/consumer.ts).

export const migrations = [
  `
CREATE TABLE usage_totals (
  user_id TEXT NOT NULL,
  period TEXT NOT NULL,
  model TEXT NOT NULL,
  requests BIGINT NOT NULL,
  cached_requests BIGINT NOT NULL,
  prompt_tokens BIGINT NOT NULL,
  cached_prompt_tokens BIGINT NOT NULL,
  completion_tokens BIGINT NOT NULL,
  cost_nanos BIGINT NOT NULL,
  PRIMARY KEY (user_id, period, model)
);
`,
  CONSUMER_MIGRATION,
];

interface Row {
  model: string;
  requests: number | string;
  cached_requests: number | string;
  prompt_tokens: number | string;
  cached_prompt_tokens: number | string;
  completion_tokens: number | string;
  cost_nanos: number | string;
}

type Sums = Omit<Row, "model">;
const key = (u: UsageEventData, period: string) => `${u.userId}\n${period}\n${u.model}`;

export function billingStore(db: Db) {
  return {
    /** Adds a batch of (new) usages to their totals, inside the consumer's transaction. */
    async add(tx: Db, usages: readonly UsageEventData[]): Promise<void> {
      // Summed in memory first, then written in key order: fewer statements, and two replicas
      // updating the same rows take their locks in the same order (no deadlock).
      const sums = new Map<string, { user: string; period: string; model: string; s: Sums }>();
      for (const u of usages) {
        const day = new Date(u.at).toISOString().slice(0, 10);
        for (const period of [day, day.slice(0, 7)]) {
          const k = key(u, period);
          const entry = sums.get(k) ?? {
            user: u.userId,
            period,
            model: u.model,
            s: {
              requests: 0,
              cached_requests: 0,
              prompt_tokens: 0,
              cached_prompt_tokens: 0,
              completion_tokens: 0,
              cost_nanos: 0,
            },
          };
          const s = entry.s as Record<keyof Sums, number>;
          s.requests += 1;
          s.cached_requests += u.cached ? 1 : 0;
          s.prompt_tokens += u.promptTokens;
          s.cached_prompt_tokens += u.cached ? u.promptTokens : 0;
          s.completion_tokens += u.completionTokens;
          s.cost_nanos += costNanos(u.model, u);
          sums.set(k, entry);
        }
      }
      for (const k of [...sums.keys()].sort()) {
        const { user, period, model, s } = sums.get(k)!;
        await tx.query(
          `INSERT INTO usage_totals (user_id, period, model, requests, cached_requests, prompt_tokens,
             cached_prompt_tokens, completion_tokens, cost_nanos)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (user_id, period, model) DO UPDATE SET
             requests = usage_totals.requests + excluded.requests,
             cached_requests = usage_totals.cached_requests + excluded.cached_requests,
             prompt_tokens = usage_totals.prompt_tokens + excluded.prompt_tokens,
             cached_prompt_tokens = usage_totals.cached_prompt_tokens + excluded.cached_prompt_tokens,
             completion_tokens = usage_totals.completion_tokens + excluded.completion_tokens,
             cost_nanos = usage_totals.cost_nanos + excluded.cost_nanos`,
          [
            user,
            period,
            model,
            s.requests,
            s.cached_requests,
            s.prompt_tokens,
            s.cached_prompt_tokens,
            s.completion_tokens,
            s.cost_nanos,
          ],
        );
      }
    },

    /** One user's usage of one day or month, per model and in total. */
    async report(userId: string, period: string): Promise<UsageReport> {
      const rows = await db.query<Row>(
        `SELECT model, requests, cached_requests, prompt_tokens, cached_prompt_tokens,
           completion_tokens, cost_nanos
         FROM usage_totals WHERE user_id = $1 AND period = $2 ORDER BY model`,
        [userId, period],
      );
      const models = rows.map((r) => toUsage(r.model, r));
      const total = {
        requests: 0,
        cached_requests: 0,
        prompt_tokens: 0,
        cached_prompt_tokens: 0,
        completion_tokens: 0,
        cost_nanos: 0,
      };
      for (const r of rows) {
        for (const field of Object.keys(total) as (keyof Sums)[]) total[field] += Number(r[field]);
      }
      return {
        object: "billing.usage",
        userId,
        period,
        granularity: period.length === 7 ? "month" : "day",
        currency: "USD",
        models,
        total: amounts(total),
      };
    },
  };
}

function toUsage(model: string, r: Sums): ModelUsage {
  return { model, ...amounts(r) };
}

/** One line of a report: a model's sums, or all models' (which has no model name). */
function amounts(r: Sums): Omit<ModelUsage, "model"> {
  const prompt = Number(r.prompt_tokens);
  const completion = Number(r.completion_tokens);
  return {
    requests: Number(r.requests),
    cachedRequests: Number(r.cached_requests),
    promptTokens: prompt,
    cachedPromptTokens: Number(r.cached_prompt_tokens),
    completionTokens: completion,
    totalTokens: prompt + completion,
    cost: usd(Number(r.cost_nanos)),
  };
}

export type BillingStore = ReturnType<typeof billingStore>;
