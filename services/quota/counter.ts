import type { Redis } from "ioredis";
import { redisAuth } from "../shared/cache.ts";
import type { Logger } from "../shared/logger.ts";
import type { Period } from "./period.ts";
import { type Counts, type Limits, type Outcome, type QuotaStore } from "./store.ts";

// Where a check is decided. With Redis, one Lua script reads, decides and consumes in a single
// step that every replica shares, and PostgreSQL is told afterwards; without Redis (the embedded
// default), or while Redis cannot be reached, a locked row in the database does the same.

export interface Counter {
  /** Consumes `n` requests if the limits allow; a refusal consumes nothing. */
  consume(userId: string, period: Period, n: number, limits: Limits): Promise<Outcome>;
  /** The period's counts, consuming nothing. */
  peek(userId: string, period: Period): Promise<Counts>;
  /** Tells the counter about tokens that the store has just recorded. */
  tokensAdded(userId: string, period: Period, tokens: number): Promise<void>;
}

export function sqlCounter(store: QuotaStore): Counter {
  return {
    consume: (userId, period, n, limits) => store.consume(userId, period.name, n, limits),
    peek: (userId, period) => store.counts(userId, period.name),
    // The database already holds them: it is the counter.
    tokensAdded: async () => undefined,
  };
}

/**
 * KEYS[1]: the user's hash for the period (fields r: requests, t: tokens).
 * ARGV: n, request limit, token limit, ttl seconds, seeded (0/1), seed requests, seed tokens.
 * A missing key answers -1 unless the caller brings the counts from PostgreSQL to seed it with;
 * seeding only creates a missing key, so two replicas seeding at once cannot undo a consumption.
 * Answers {status, requests, tokens}: 0 consumed, 1 requests exhausted, 2 tokens exhausted.
 */
const CHECK = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  if ARGV[5] == '0' then return {-1, 0, 0} end
  redis.call('HSET', KEYS[1], 'r', ARGV[6], 't', ARGV[7])
  redis.call('EXPIRE', KEYS[1], ARGV[4])
end
local r = tonumber(redis.call('HGET', KEYS[1], 'r') or '0')
local t = tonumber(redis.call('HGET', KEYS[1], 't') or '0')
local n = tonumber(ARGV[1])
if t >= tonumber(ARGV[3]) then return {2, r, t} end
if r + n > tonumber(ARGV[2]) then return {1, r, t} end
if n > 0 then r = redis.call('HINCRBY', KEYS[1], 'r', n) end
return {0, r, t}
`;

/** KEYS[1] as above; adds ARGV[2] to field ARGV[1] of a key that exists (a missing one is seeded later). */
const ADD_IF_PRESENT = `
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2]) end
return 0
`;

type Reply = [number, number, number];

interface QuotaCommands {
  quotaCheck(key: string, ...args: (string | number)[]): Promise<Reply>;
  quotaAdd(key: string, field: string, n: number): Promise<number>;
}

/** A Redis client for the counter: a command waits at most 500 ms, then the database decides. */
export async function openQuotaRedis(url: string): Promise<Redis> {
  // Imported here: without Redis (the embedded default) the database decides and ioredis is
  // never loaded.
  const { Redis: RedisClient } = await import("ioredis");
  const redis = new RedisClient(url, {
    ...redisAuth(),
    maxRetriesPerRequest: 1,
    commandTimeout: 500,
    connectTimeout: 2_000,
  });
  redis.on("error", () => undefined);
  return redis;
}

const VERDICTS = ["ok", "requests_exhausted", "tokens_exhausted"] as const;

export function redisCounter(redis: Redis, store: QuotaStore, logger: Logger): Counter {
  redis.defineCommand("quotaCheck", { numberOfKeys: 1, lua: CHECK });
  redis.defineCommand("quotaAdd", { numberOfKeys: 1, lua: ADD_IF_PRESENT });
  const commands = redis as unknown as QuotaCommands;
  const fallback = sqlCounter(store);
  const keyOf = (userId: string, period: Period) => `quota:{${userId}}:${period.name}`;
  // Keys outlive their day by an hour, for usages reported a little late.
  const ttlOf = (period: Period) =>
    Math.max(1, Math.ceil((period.endsAt - Date.now()) / 1000) + 3_600);

  // Keys whose Redis counts miss what this replica recorded in the database alone (a grant the
  // database decided while Redis was unreachable, tokens Redis did not take). Once Redis answers
  // again they are deleted, so that the next check seeds them from PostgreSQL, which has it all;
  // otherwise a key that survived the outage would let its user exceed the limit by what was
  // consumed during it. Retried every second until Redis takes the deletion.
  const stale = new Set<string>();
  let refresher: NodeJS.Timeout | undefined;
  const forget = async () => {
    const keys = [...stale];
    if (keys.length === 0) return;
    await redis.del(...keys);
    for (const k of keys) stale.delete(k);
  };
  const markStale = (key: string) => {
    stale.add(key);
    refresher ??= setTimeout(function retry() {
      forget().then(
        () => (refresher = stale.size > 0 ? setTimeout(retry, 1_000).unref() : undefined),
        () => (refresher = setTimeout(retry, 1_000).unref()),
      );
    }, 1_000).unref();
  };

  async function check(userId: string, period: Period, n: number, limits: Limits) {
    const key = keyOf(userId, period);
    const args = [n, limits.requestsPerDay, limits.tokensPerDay, ttlOf(period)];
    let reply = await commands.quotaCheck(key, ...args, 0, 0, 0);
    if (reply[0] === -1) {
      const seed = await store.counts(userId, period.name);
      reply = await commands.quotaCheck(key, ...args, 1, seed.requests, seed.tokens);
    }
    return { key, verdict: VERDICTS[reply[0]]!, requests: reply[1], tokens: reply[2] };
  }

  return {
    async consume(userId, period, n, limits) {
      let outcome: Awaited<ReturnType<typeof check>>;
      try {
        if (stale.size > 0) await forget();
        outcome = await check(userId, period, n, limits);
      } catch (err) {
        logger.warn({ err, userId }, "quota: Redis unavailable, deciding in the database");
        const decided = await fallback.consume(userId, period, n, limits);
        if (decided.verdict === "ok" && n > 0) markStale(keyOf(userId, period));
        return decided;
      }
      if (outcome.verdict === "ok" && n > 0) {
        try {
          await store.addRequests(userId, period.name, n);
        } catch (err) {
          // Not persisted means not granted: give the requests back so that both stores agree.
          await commands.quotaAdd(outcome.key, "r", -n).catch(() => undefined);
          throw err;
        }
      }
      return { verdict: outcome.verdict, requests: outcome.requests, tokens: outcome.tokens };
    },

    async peek(userId, period) {
      try {
        const { requests, tokens } = await check(userId, period, 0, {
          requestsPerDay: Number.MAX_SAFE_INTEGER,
          tokensPerDay: Number.MAX_SAFE_INTEGER,
        });
        return { requests, tokens };
      } catch {
        return fallback.peek(userId, period);
      }
    },

    async tokensAdded(userId, period, tokens) {
      const key = keyOf(userId, period);
      await commands.quotaAdd(key, "t", tokens).catch((err: unknown) => {
        logger.warn({ err, userId }, "quota: tokens not added in Redis; its key will be rebuilt");
        markStale(key);
      });
    },
  };
}
