import type { PlatformEvent } from "../shared/events.ts";
import { OUTBOX_MIGRATION } from "../shared/outbox.ts";
import type { Db } from "../shared/sql/db.ts";
import type { Plan } from "../user/contract.ts";
import { USAGE_EVENT, USAGE_TOPIC, type Usage } from "./contract.ts";

// PostgreSQL holds what a quota has used in each period; Redis (counter.ts) is the fast, atomic
// copy that every replica shares, rebuilt from here when its key is missing. Usage records make
// token counting exactly-once per usage id, and the usage event leaves through the outbox in the
// same transaction.

export const migrations = [
  `
CREATE TABLE quota_usage (
  user_id TEXT NOT NULL,
  period TEXT NOT NULL,
  requests BIGINT NOT NULL,
  tokens BIGINT NOT NULL,
  PRIMARY KEY (user_id, period)
);
CREATE TABLE usage_records (
  usage_id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  period TEXT NOT NULL,
  model TEXT NOT NULL,
  prompt_tokens BIGINT NOT NULL,
  completion_tokens BIGINT NOT NULL,
  cached BOOLEAN NOT NULL,
  at TEXT NOT NULL,
  recorded_at TEXT NOT NULL
);
CREATE INDEX usage_records_user ON usage_records (user_id, period);
CREATE TABLE known_plans (
  name TEXT PRIMARY KEY,
  body TEXT NOT NULL,
  fetched_at TEXT NOT NULL
);
`,
  OUTBOX_MIGRATION,
];

export interface Counts {
  requests: number;
  tokens: number;
}

/** What a check decided: `ok` consumed the requests; the others consumed nothing. */
export type Verdict = "ok" | "requests_exhausted" | "tokens_exhausted";

export interface Outcome extends Counts {
  verdict: Verdict;
}

export interface Limits {
  requestsPerDay: number;
  tokensPerDay: number;
}

/** The one rule every counter applies: a spent token balance first, then the request count. */
export function decide(used: Counts, n: number, limits: Limits): Verdict {
  if (used.tokens >= limits.tokensPerDay) return "tokens_exhausted";
  if (used.requests + n > limits.requestsPerDay) return "requests_exhausted";
  return "ok";
}

interface CountRow {
  requests: number | string;
  tokens: number | string;
}

const toCounts = (r: CountRow | undefined): Counts => ({
  requests: Number(r?.requests ?? 0),
  tokens: Number(r?.tokens ?? 0),
});

export function quotaStore(db: Db) {
  return {
    async counts(userId: string, period: string): Promise<Counts> {
      const [row] = await db.query<CountRow>(
        "SELECT requests, tokens FROM quota_usage WHERE user_id = $1 AND period = $2",
        [userId, period],
      );
      return toCounts(row);
    },

    /** Adds requests that Redis has already granted, so that a Redis flush does not lose them. */
    async addRequests(userId: string, period: string, n: number): Promise<void> {
      await db.query(
        `INSERT INTO quota_usage (user_id, period, requests, tokens) VALUES ($1, $2, $3, 0)
         ON CONFLICT (user_id, period) DO UPDATE SET requests = quota_usage.requests + excluded.requests`,
        [userId, period, n],
      );
    },

    /**
     * Checks and consumes in the database alone, for a deployment without Redis (the embedded
     * default of `npm start`): the row lock makes it atomic across replicas.
     */
    async consume(userId: string, period: string, n: number, limits: Limits): Promise<Outcome> {
      return db.transaction(async (tx) => {
        await tx.query(
          `INSERT INTO quota_usage (user_id, period, requests, tokens) VALUES ($1, $2, 0, 0)
           ON CONFLICT (user_id, period) DO NOTHING`,
          [userId, period],
        );
        const lock = tx.engine === "postgres" ? " FOR UPDATE" : "";
        const [row] = await tx.query<CountRow>(
          `SELECT requests, tokens FROM quota_usage WHERE user_id = $1 AND period = $2${lock}`,
          [userId, period],
        );
        const used = toCounts(row);
        const verdict = decide(used, n, limits);
        if (verdict !== "ok" || n === 0) return { ...used, verdict };
        await tx.query(
          "UPDATE quota_usage SET requests = requests + $3 WHERE user_id = $1 AND period = $2",
          [userId, period, n],
        );
        return { ...used, requests: used.requests + n, verdict };
      });
    },

    /**
     * Records a usage once: its tokens join the period's count and its event goes to the outbox,
     * in one transaction. False when this usage id was recorded before.
     */
    async recordUsage(usage: Usage, period: string): Promise<boolean> {
      return db.transaction(async (tx) => {
        const inserted = await tx.query(
          `INSERT INTO usage_records (usage_id, user_id, period, model, prompt_tokens,
             completion_tokens, cached, at, recorded_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (usage_id) DO NOTHING RETURNING usage_id`,
          [
            usage.usageId,
            usage.userId,
            period,
            usage.model,
            usage.promptTokens,
            usage.completionTokens,
            usage.cached,
            usage.at,
            new Date().toISOString(),
          ],
        );
        if (inserted.length === 0) return false;
        await tx.query(
          `INSERT INTO quota_usage (user_id, period, requests, tokens) VALUES ($1, $2, 0, $3)
           ON CONFLICT (user_id, period) DO UPDATE SET tokens = quota_usage.tokens + excluded.tokens`,
          [usage.userId, period, usage.promptTokens + usage.completionTokens],
        );
        const event: PlatformEvent = {
          id: usage.usageId,
          type: USAGE_EVENT,
          at: usage.at,
          data: { ...usage },
        };
        await tx.query(
          "INSERT INTO outbox (id, topic, event_key, payload, created_at) VALUES ($1, $2, $3, $4, $5)",
          [event.id, USAGE_TOPIC, usage.userId, JSON.stringify(event), new Date().toISOString()],
        );
        return true;
      });
    },

    /** Keeps the last plan the user service gave, for when it cannot be asked (even after a restart). */
    async rememberPlan(plan: Plan): Promise<void> {
      await db.query(
        `INSERT INTO known_plans (name, body, fetched_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET body = excluded.body, fetched_at = excluded.fetched_at`,
        [plan.name, JSON.stringify(plan), new Date().toISOString()],
      );
    },

    async knownPlan(name: string): Promise<Plan | undefined> {
      const [row] = await db.query<{ body: string }>(
        "SELECT body FROM known_plans WHERE name = $1",
        [name],
      );
      return row && (JSON.parse(row.body) as Plan);
    },
  };
}

export type QuotaStore = ReturnType<typeof quotaStore>;
