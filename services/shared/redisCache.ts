import { Redis } from "ioredis";
import { redisAuth, type Cache } from "./cache.ts";

// The Redis side of cache.ts, in a module of its own so that a process given no REDIS_URL never
// loads ioredis.

/** Decrements a positive count in one step; the key keeps its expiry. */
const TAKE_ONE = `
local left = tonumber(redis.call('GET', KEYS[1]) or '0')
if left <= 0 then return 0 end
redis.call('DECR', KEYS[1])
return 1`;

export function redisCache(url: string, prefix: string): Cache {
  const redis = new Redis(url, {
    ...redisAuth(),
    keyPrefix: `${prefix}:`,
    // A cache must never hold a request up: a call waits at most commandTimeout, across at most
    // one reconnect, then fails and the caller goes on without the cache.
    maxRetriesPerRequest: 1,
    commandTimeout: 500,
    connectTimeout: 2_000,
  });
  redis.on("error", () => undefined);
  return {
    kind: "redis",
    async get(key) {
      return (await redis.get(key)) ?? undefined;
    },
    async set(key, value, ttlSeconds) {
      await redis.set(key, value, "EX", ttlSeconds);
    },
    async del(key) {
      await redis.del(key);
    },
    async takeOne(key) {
      return (await redis.eval(TAKE_ONE, 1, key)) === 1;
    },
    async ping() {
      return redis
        .ping()
        .then((r) => r === "PONG")
        .catch(() => false);
    },
    async close() {
      redis.disconnect();
    },
  };
}

/**
 * A client for features on the request path (rate limit, response cache): a command that cannot
 * be sent now fails now (no offline queue, no retry), and one that Redis does not answer within
 * `commandTimeoutMs` fails then, so that the caller takes its fallback instead of holding the
 * request. The client keeps reconnecting in the background.
 */
export function redisClient(url: string, opts: { commandTimeoutMs?: number } = {}): Redis {
  const redis = new Redis(url, {
    ...redisAuth(),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: opts.commandTimeoutMs ?? 200,
    connectTimeout: 2_000,
  });
  // Callers see failures on their commands; the connection's own errors would only be noise.
  redis.on("error", () => undefined);
  return redis;
}
