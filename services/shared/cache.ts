import { Redis } from "ioredis";
import { envKey } from "../../infra/runtimeEnv.ts";

/**
 * Connection options every Redis client of the platform shares: the AUTH token, when the
 * deployment gives one, comes from REDIS_PASSWORD (a secret, on AWS from Secrets Manager) and
 * never from the URL, which is plain configuration.
 */
export function redisAuth(env: NodeJS.ProcessEnv = process.env): { password?: string } {
  const password = env[envKey.redisPassword];
  return password ? { password } : {};
}

/** A small TTL key-value cache: Redis when REDIS_URL is set (shared by all replicas), else memory. */
export interface Cache {
  readonly kind: "redis" | "memory";
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  del(key: string): Promise<void>;
  /**
   * Takes one from the whole number stored at `key`, atomically: true when it was above zero
   * (and is now one less), false when it is zero or absent. Every replica sharing the store sees
   * the same count, so N takes never pass a count of N.
   */
  takeOne(key: string): Promise<boolean>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

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

export function memoryCache(maxEntries = 10_000): Cache {
  const entries = new Map<string, { value: string; expires: number }>();
  return {
    kind: "memory",
    async get(key) {
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (entry.expires <= Date.now()) {
        entries.delete(key);
        return undefined;
      }
      return entry.value;
    },
    async set(key, value, ttlSeconds) {
      // Map keeps insertion order, so the first key is the oldest: evict it when full.
      if (entries.size >= maxEntries && !entries.has(key)) {
        const oldest = entries.keys().next().value;
        if (oldest !== undefined) entries.delete(oldest);
      }
      entries.set(key, { value, expires: Date.now() + ttlSeconds * 1000 });
    },
    async del(key) {
      entries.delete(key);
    },
    async takeOne(key) {
      // One process, and no await between the read and the write: atomic as it stands.
      const entry = entries.get(key);
      if (!entry || entry.expires <= Date.now()) return false;
      const left = Number(entry.value);
      if (!(left > 0)) return false;
      entry.value = String(left - 1);
      return true;
    },
    ping: async () => true,
    close: async () => entries.clear(),
  };
}

export function openCache(redisUrl: string | undefined, prefix: string): Cache {
  return redisUrl ? redisCache(redisUrl, prefix) : memoryCache();
}
