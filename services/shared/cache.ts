import { envKey } from "../../platform/runtimeEnv.ts";

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

/** Redis when REDIS_URL is set; the Redis client is imported only then (issue 21). */
export async function openCache(redisUrl: string | undefined, prefix: string): Promise<Cache> {
  if (!redisUrl) return memoryCache();
  const { redisCache } = await import("./redisCache.ts");
  return redisCache(redisUrl, prefix);
}
