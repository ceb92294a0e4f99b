import { createHash, randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { HOP_BY_HOP } from "../shared/proxy.ts";
import type { Response } from "express";
import type { Redis } from "ioredis";
import { Counter, type Registry } from "prom-client";
import type { Catalog } from "../../platform/catalog/schema.ts";
import type { Logger } from "../shared/logger.ts";

// The gateway's response cache for idempotent reads. Entries are shared by every replica of a
// tier (Redis; memory when there is none) and keyed by route, path, normalized query and, where
// the answer depends on the caller, the principal. Freshness is per route (ttl, then a stale
// window served while one request refreshes the entry); entries are kept longer, up to a
// fallback horizon, so that the fallback handler can answer with the last known one when the
// service is down.
//
// No stampede: concurrent misses of one key on a replica share one upstream call (a map of
// in-flight promises), and replicas take a short Redis lock (SET NX PX) so that only one of them
// calls; the others wait briefly for the entry it stores, then call themselves.
//
// Invalidation: each (route, principal) has a generation that is part of every entry's key. A
// write replaces it with a new random value, so every entry stored before is never read again
// and simply expires. A random value (not a counter) cannot come back to an old one if the
// generation's own key expires.

/** An answer as the cache keeps it: fully buffered, with only the headers worth replaying. */
export interface CachedResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** Milliseconds since the epoch, on the clock of the replica that stored it. */
  storedAt: number;
}

/** What the caller's upstream call returns. */
export type FetchedResponse = Omit<CachedResponse, "storedAt">;

/** A route's freshness: fresh for `ttlSeconds`, then served stale for `staleSeconds` while refreshed. */
export interface CachePolicy {
  ttlSeconds: number;
  staleSeconds: number;
}

/** How a read was answered; `coalesced` shared another request's upstream call. */
export type CacheState = "hit" | "stale" | "miss" | "coalesced" | "bypass";

/** The `x-cache` header for each state; the fallback handler says `STALE-IF-ERROR` itself. */
export const X_CACHE: Record<CacheState, string> = {
  hit: "HIT",
  stale: "STALE",
  miss: "MISS",
  coalesced: "HIT",
  bypass: "BYPASS",
};

/** A cacheable read: `scope` is route and principal (the unit of invalidation), `id` the resource. */
export interface CacheKey {
  route: string;
  scope: string;
  id: string;
}

/**
 * Where entries live. Values are opaque strings; every method may throw when the store cannot be
 * reached, and the cache then goes on without it.
 */
export interface CacheStore {
  /** The current generation of `scope`, and the entry stored under it, if any. */
  lookup(scope: string, id: string): Promise<{ generation: string; entry: string | undefined }>;
  /** The entry of one generation. */
  get(scope: string, generation: string, id: string): Promise<string | undefined>;
  put(scope: string, generation: string, id: string, value: string, ttlMs: number): Promise<void>;
  /** Takes the fill lock of one entry for `ms`; false when another holder has it. */
  lock(scope: string, generation: string, id: string, token: string, ms: number): Promise<boolean>;
  unlock(scope: string, generation: string, id: string, token: string): Promise<void>;
  /** Starts a new generation of each scope; the generation itself is kept `ttlMs`. */
  invalidate(scopes: readonly string[], ttlMs: number): Promise<void>;
}

/** Headers that belong to one connection or one request, never replayed from the cache. */
const NOT_REPLAYED: ReadonlySet<string> = new Set([
  ...HOP_BY_HOP,
  "set-cookie",
  "date",
  "age",
  "x-cache",
  "x-request-id",
  "traceparent",
]);

/** The headers of an answer that a cached copy may replay. */
export function replayableHeaders(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value === undefined || NOT_REPLAYED.has(lower)) continue;
    out[lower] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

/** Reads an upstream answer whole, for `getOrFetch`. */
export async function bufferResponse(up: {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: { bytes(): Promise<Buffer> };
}): Promise<FetchedResponse> {
  return {
    status: up.statusCode,
    headers: replayableHeaders(up.headers),
    body: await up.body.bytes(),
  };
}

/** Writes a cached (or just fetched) answer to the client, saying how it was obtained. */
export function sendCached(
  res: Response,
  cached: CachedResponse,
  xCache: string,
  now = Date.now(),
) {
  for (const [name, value] of Object.entries(cached.headers)) res.setHeader(name, value);
  res.setHeader("x-cache", xCache);
  if (xCache !== "MISS" && xCache !== "BYPASS")
    res.setHeader("age", String(Math.max(0, Math.floor((now - cached.storedAt) / 1000))));
  res.status(cached.status).end(cached.body);
}

/** The catalog's cache policy of a service, or undefined when its answers are not cached. */
export function catalogCachePolicy(
  catalog: Catalog,
  service: string,
): (CachePolicy & { perPrincipal: boolean }) | undefined {
  const policy = catalog.services[service]?.traffic.cache;
  return policy && policy.ttlSeconds > 0 ? policy : undefined;
}

/** `?b=2&a=1&a=0` and `?a=0&a=1&b=2` are the same read. */
export function normalizedQuery(search: string): string {
  const params = [...new URLSearchParams(search)];
  params.sort(([an, av], [bn, bv]) =>
    an < bn ? -1 : an > bn ? 1 : av < bv ? -1 : av > bv ? 1 : 0,
  );
  return new URLSearchParams(params).toString();
}

interface StoredEntry {
  status: number;
  headers: Record<string, string>;
  body: string;
  storedAt: number;
}

function encode(response: CachedResponse): string {
  const entry: StoredEntry = { ...response, body: response.body.toString("base64") };
  return JSON.stringify(entry);
}

function decode(text: string | undefined): CachedResponse | undefined {
  if (text === undefined) return undefined;
  try {
    const entry = JSON.parse(text) as StoredEntry;
    return { ...entry, body: Buffer.from(entry.body, "base64") };
  } catch {
    return undefined;
  }
}

// One round trip for a read: the scope's generation, then the entry under it. The entry's key is
// built in the script, but shares the generation's hash tag, so both live in one slot.
const LOOKUP_SCRIPT = `
local generation = redis.call('GET', KEYS[1]) or '0'
return { generation, redis.call('GET', ARGV[1] .. generation .. ':' .. ARGV[2]) }
`;
const UNLOCK_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

type Script<T> = (numKeys: number, ...args: string[]) => Promise<T>;

/** Entries in Redis, shared by every replica of the tier. */
export function redisStore(redis: Redis, prefix: string): CacheStore {
  redis.defineCommand("gatewayCacheLookup", { lua: LOOKUP_SCRIPT });
  redis.defineCommand("gatewayCacheUnlock", { lua: UNLOCK_SCRIPT });
  const scripts = redis as unknown as {
    gatewayCacheLookup: Script<[string, string | null]>;
    gatewayCacheUnlock: Script<number>;
  };
  const base = (scope: string) => `${prefix}:rc:{${scope}}:`;
  const entryKey = (scope: string, generation: string, id: string) =>
    `${base(scope)}${generation}:${id}`;
  // Commands fail at once while disconnected (no offline queue), but say so plainly here.
  const ready = () => {
    if (redis.status !== "ready") throw new Error(`response cache: Redis is ${redis.status}`);
  };
  return {
    async lookup(scope, id) {
      ready();
      const [generation, entry] = await scripts.gatewayCacheLookup(
        1,
        `${base(scope)}g`,
        base(scope),
        id,
      );
      return { generation, entry: entry ?? undefined };
    },
    async get(scope, generation, id) {
      ready();
      return (await redis.get(entryKey(scope, generation, id))) ?? undefined;
    },
    async put(scope, generation, id, value, ttlMs) {
      ready();
      await redis.set(entryKey(scope, generation, id), value, "PX", Math.ceil(ttlMs));
    },
    async lock(scope, generation, id, token, ms) {
      ready();
      const key = `${entryKey(scope, generation, id)}:lock`;
      return (await redis.set(key, token, "PX", Math.ceil(ms), "NX")) === "OK";
    },
    async unlock(scope, generation, id, token) {
      ready();
      await scripts.gatewayCacheUnlock(1, `${entryKey(scope, generation, id)}:lock`, token);
    },
    async invalidate(scopes, ttlMs) {
      ready();
      const multi = redis.multi();
      for (const scope of scopes)
        multi.set(`${base(scope)}g`, randomUUID(), "PX", Math.ceil(ttlMs));
      await multi.exec();
    },
  };
}

/** Entries in this process, for a replica without Redis; the oldest go first when it is full. */
export function memoryStore(opts: { maxEntries?: number; now?: () => number } = {}): CacheStore {
  const now = opts.now ?? Date.now;
  const maxEntries = opts.maxEntries ?? 10_000;
  const values = new Map<string, { value: string; expiresAt: number }>();
  const read = (key: string) => {
    const found = values.get(key);
    if (found && found.expiresAt <= now()) values.delete(key);
    return found && found.expiresAt > now() ? found.value : undefined;
  };
  const write = (key: string, value: string, ttlMs: number) => {
    values.delete(key);
    values.set(key, { value, expiresAt: now() + ttlMs });
    while (values.size > maxEntries) values.delete(values.keys().next().value!);
  };
  const entryKey = (scope: string, generation: string, id: string) =>
    `${scope}\n${generation}\n${id}`;
  return {
    async lookup(scope, id) {
      const generation = read(`${scope}\ngeneration`) ?? "0";
      return { generation, entry: read(entryKey(scope, generation, id)) };
    },
    async get(scope, generation, id) {
      return read(entryKey(scope, generation, id));
    },
    async put(scope, generation, id, value, ttlMs) {
      write(entryKey(scope, generation, id), value, ttlMs);
    },
    async lock(scope, generation, id, token, ms) {
      const key = `${entryKey(scope, generation, id)}\nlock`;
      if (read(key) !== undefined) return false;
      write(key, token, ms);
      return true;
    },
    async unlock(scope, generation, id, token) {
      const key = `${entryKey(scope, generation, id)}\nlock`;
      if (read(key) === token) values.delete(key);
    },
    async invalidate(scopes, ttlMs) {
      for (const scope of scopes) write(`${scope}\ngeneration`, randomUUID(), ttlMs);
    },
  };
}

export interface ResponseCacheArgs {
  /** `redisStore(redis, prefix)` when the tier has Redis, else `memoryStore()`. */
  store: CacheStore;
  registry: Registry;
  logger: Logger;
  /** How long an entry is kept for `lastKnown` (the fallback handler). Default 3600 s. */
  fallbackSeconds?: number;
  /** Larger answers are passed through, not stored. Default 1 MiB. */
  maxBodyBytes?: number;
  /** How long one replica may hold a key's fill lock. Default 5000 ms. */
  lockMs?: number;
  /** How long a replica that finds the lock taken waits for the entry before calling itself. Default 1000 ms. */
  waitMs?: number;
  /** How often it looks for the entry meanwhile. Default 20 ms. */
  pollMs?: number;
  /** After a store failure, how long to go without the cache before trying it again. Default 1000 ms. */
  retryMs?: number;
  /** Milliseconds since the epoch: entries' age; tests move it. */
  now?: () => number;
}

export class ResponseCache {
  private readonly args: ResponseCacheArgs;
  private readonly now: () => number;
  private readonly fallbackMs: number;
  private readonly inflight = new Map<
    string,
    Promise<{ response: CachedResponse; state: CacheState }>
  >();
  private readonly refreshing = new Set<string>();
  private storeDownUntil = 0;
  readonly requests: Counter<"route" | "result">;

  constructor(args: ResponseCacheArgs) {
    this.args = args;
    this.now = args.now ?? Date.now;
    this.fallbackMs = (args.fallbackSeconds ?? 3_600) * 1000;
    this.requests = new Counter({
      name: "gateway_cache_requests_total",
      help: "Cacheable reads, by route group and how they were answered (bypass: the cache store was unavailable)",
      labelNames: ["route", "result"] as const,
      registers: [args.registry],
    });
  }

  /**
   * The key of a read: its route group, path and query string (without `?`), and the principal
   * when the answer depends on who asks (the route's `perPrincipal`).
   */
  key(parts: { route: string; path: string; query: string; principal?: string }): CacheKey {
    const query = normalizedQuery(parts.query);
    const resource = query ? `${parts.path}?${query}` : parts.path;
    const { route, principal } = parts;
    return {
      route,
      scope: `${route}|${principal === undefined ? "*" : encodeURIComponent(principal)}`,
      id: createHash("sha256").update(resource).digest("base64url"),
    };
  }

  /**
   * Answers a read from the cache when it can, else with `fetch` (the upstream call, whose
   * answer is stored if it is a 200). `fetch` may run after this request is answered (a stale
   * entry's refresh), so it must not depend on the client's connection.
   */
  async getOrFetch(
    key: CacheKey,
    policy: CachePolicy,
    fetch: () => Promise<FetchedResponse>,
  ): Promise<{ response: CachedResponse; state: CacheState }> {
    const result = await this.answer(key, policy, fetch);
    this.requests.inc({ route: key.route, result: result.state });
    return result;
  }

  /** The stored answer even past its stale window (up to the fallback horizon), for the fallback handler. */
  async lastKnown(key: CacheKey): Promise<CachedResponse | undefined> {
    if (!this.storeUsable()) return undefined;
    const found = await this.args.store.lookup(key.scope, key.id).catch((err: unknown) => {
      this.storeFailed(err);
      return undefined;
    });
    const entry = decode(found?.entry);
    return entry && this.now() - entry.storedAt <= this.fallbackMs ? entry : undefined;
  }

  /** After a successful write on `route` by `principal`: its cached reads (and shared ones) miss. */
  async invalidate(route: string, principal: string): Promise<void> {
    const scopes = [`${route}|${encodeURIComponent(principal)}`, `${route}|*`];
    await this.args.store
      .invalidate(scopes, this.fallbackMs)
      .catch((err: unknown) =>
        this.args.logger.warn({ err, route }, "response cache: invalidation failed"),
      );
  }

  private async answer(
    key: CacheKey,
    policy: CachePolicy,
    fetch: () => Promise<FetchedResponse>,
  ): Promise<{ response: CachedResponse; state: CacheState }> {
    if (policy.ttlSeconds <= 0 || !this.storeUsable()) return this.bypass(fetch);
    let found: { generation: string; entry: string | undefined };
    try {
      found = await this.args.store.lookup(key.scope, key.id);
    } catch (err) {
      this.storeFailed(err);
      return this.bypass(fetch);
    }
    const entry = decode(found.entry);
    if (entry) {
      const age = this.now() - entry.storedAt;
      if (age < policy.ttlSeconds * 1000) return { response: entry, state: "hit" };
      if (age < (policy.ttlSeconds + policy.staleSeconds) * 1000) {
        this.refresh(key, found.generation, policy, fetch);
        return { response: entry, state: "stale" };
      }
    }
    return this.fill(key, found.generation, policy, fetch);
  }

  private async bypass(fetch: () => Promise<FetchedResponse>) {
    const fetched = await fetch();
    return {
      response: { ...fetched, headers: replayableHeaders(fetched.headers), storedAt: this.now() },
      state: "bypass" as const,
    };
  }

  /** A miss: one upstream call per key on this replica, and per key across replicas when it can. */
  private fill(
    key: CacheKey,
    generation: string,
    policy: CachePolicy,
    fetch: () => Promise<FetchedResponse>,
  ): Promise<{ response: CachedResponse; state: CacheState }> {
    const flight = `${key.scope}\n${generation}\n${key.id}`;
    const running = this.inflight.get(flight);
    if (running) return running.then(({ response }) => ({ response, state: "coalesced" }));
    const leading = this.lead(key, generation, policy, fetch);
    this.inflight.set(flight, leading);
    leading.finally(() => this.inflight.delete(flight)).catch(() => undefined);
    return leading;
  }

  private async lead(
    key: CacheKey,
    generation: string,
    policy: CachePolicy,
    fetch: () => Promise<FetchedResponse>,
  ): Promise<{ response: CachedResponse; state: CacheState }> {
    const { store } = this.args;
    const token = randomUUID();
    const lockMs = this.args.lockMs ?? 5_000;
    // A store that fails here fails again when storing: call upstream without the lock.
    let locked = await store.lock(key.scope, generation, key.id, token, lockMs).catch(() => true);
    if (locked) {
      // Another replica may have stored the entry since our lookup, before we locked.
      const theirs = await this.freshEntry(key, generation, policy);
      if (theirs) {
        await store.unlock(key.scope, generation, key.id, token).catch(() => undefined);
        return { response: theirs, state: "coalesced" };
      }
    } else {
      // Another replica is filling it: its answer is ours, unless it gives the lock up first.
      const waited = await this.waitForFill(key, generation, policy, token, lockMs);
      if (waited.entry) return { response: waited.entry, state: "coalesced" };
      locked = waited.locked;
    }
    try {
      return { response: await this.fetchAndStore(key, generation, policy, fetch), state: "miss" };
    } finally {
      if (locked) await store.unlock(key.scope, generation, key.id, token).catch(() => undefined);
    }
  }

  private async freshEntry(key: CacheKey, generation: string, policy: CachePolicy) {
    const entry = decode(
      await this.args.store.get(key.scope, generation, key.id).catch(() => undefined),
    );
    return entry && this.now() - entry.storedAt < policy.ttlSeconds * 1000 ? entry : undefined;
  }

  /**
   * Waits for another replica's fill: its entry, or the lock, which it releases without an entry
   * when its upstream call failed. Taking the lock then ends the wait at once (a failed fill, say
   * with the service's breaker open, must not hold every waiter for the whole `waitMs`).
   */
  private async waitForFill(
    key: CacheKey,
    generation: string,
    policy: CachePolicy,
    token: string,
    lockMs: number,
  ): Promise<{ entry?: CachedResponse; locked: boolean }> {
    const { store } = this.args;
    // Real time, not `now`: this bounds how long a request waits, not how old an entry is.
    const deadline = Date.now() + (this.args.waitMs ?? 1_000);
    while (Date.now() < deadline) {
      await sleep(this.args.pollMs ?? 20);
      const entry = await this.freshEntry(key, generation, policy);
      if (entry) return { entry, locked: false };
      if (await store.lock(key.scope, generation, key.id, token, lockMs).catch(() => false)) {
        const late = await this.freshEntry(key, generation, policy);
        if (late) {
          await store.unlock(key.scope, generation, key.id, token).catch(() => undefined);
          return { entry: late, locked: false };
        }
        return { locked: true };
      }
    }
    return { locked: false };
  }

  private async fetchAndStore(
    key: CacheKey,
    generation: string,
    policy: CachePolicy,
    fetch: () => Promise<FetchedResponse>,
  ): Promise<CachedResponse> {
    const fetched = await fetch();
    const response = {
      ...fetched,
      headers: replayableHeaders(fetched.headers),
      storedAt: this.now(),
    };
    const noStore = /(^|,)\s*no-store\b/i.test(response.headers["cache-control"] ?? "");
    if (
      response.status === 200 &&
      !noStore &&
      response.body.length <= (this.args.maxBodyBytes ?? 1024 * 1024)
    ) {
      const keepMs = Math.max((policy.ttlSeconds + policy.staleSeconds) * 1000, this.fallbackMs);
      await this.args.store
        .put(key.scope, generation, key.id, encode(response), keepMs)
        .catch((err: unknown) => this.storeFailed(err));
    }
    return response;
  }

  /** A stale entry was served: refresh it in the background, once across replicas. */
  private refresh(
    key: CacheKey,
    generation: string,
    policy: CachePolicy,
    fetch: () => Promise<FetchedResponse>,
  ): void {
    const flight = `${key.scope}\n${generation}\n${key.id}`;
    if (this.refreshing.has(flight)) return;
    this.refreshing.add(flight);
    const { store } = this.args;
    const token = randomUUID();
    void (async () => {
      try {
        if (!(await store.lock(key.scope, generation, key.id, token, this.args.lockMs ?? 5_000)))
          return;
        try {
          await this.fetchAndStore(key, generation, policy, fetch);
        } finally {
          await store.unlock(key.scope, generation, key.id, token).catch(() => undefined);
        }
      } catch (err) {
        this.args.logger.warn(
          { err, route: key.route },
          "response cache: background refresh failed",
        );
      } finally {
        this.refreshing.delete(flight);
      }
    })();
  }

  private storeUsable(): boolean {
    return this.now() >= this.storeDownUntil;
  }

  private storeFailed(err: unknown): void {
    if (this.storeUsable())
      this.args.logger.warn({ err }, "response cache: store unavailable, reads bypass the cache");
    this.storeDownUntil = this.now() + (this.args.retryMs ?? 1_000);
  }
}
