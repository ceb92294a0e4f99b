import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import type { Readable } from "node:stream";
import { Pool, errors as undiciErrors } from "undici";
import type { Dispatcher } from "undici";
import { CALL_SIGNATURE_HEADER, signCall } from "./callSignature.ts";
import type { AnswerBody } from "./dispatch.ts";
import { badRequest, type ApiError } from "./errors.ts";

// The failover manager: client-side load balancing over a service's replicas. One keep-alive
// pool per replica (the largest single cost of a Node proxy is a missing keep-alive agent), round
// robin over the replicas that pass their health checks and are not ejected, so that a retry goes
// to another, healthy replica.
//
// Two signals take a replica out of rotation, as in Envoy:
// - active health checks: GET /readyz every `healthIntervalMs`; a draining or broken replica
//   answers 503 and is skipped until it passes again;
// - outlier ejection: a replica that refuses connections is ejected at once; one that fails
//   `ejectAfterFailures` requests in a row (5xx, time-outs, broken connections) is ejected too,
//   but never more than `maxEjectedPercent` of the set, so that a bad deploy cannot eject all.
//   Each ejection of the same replica lasts longer (base x 2^(n-1), capped).
//
// A replica URL whose host is a name stands for every address the name resolves to: on AWS a
// Cloud Map name answers one record per task, on Kubernetes a headless Service one per pod. The
// set looks the names up again every `discoveryIntervalMs` and balances, checks and ejects each
// address on its own, so that one bad task is taken out rather than hidden behind a name.

export interface Replica {
  readonly url: string;
  readonly pool: Pool;
  /** Result of the last active health check (true until the first one says otherwise). */
  healthy: boolean;
  ejectedUntil: number;
  /** Why it is ejected: `down` (refused connections) ends early when a health check passes. */
  ejectedFor: "down" | "outlier" | undefined;
  consecutiveFailures: number;
  /** Ejections so far, minus one for each passing health check: sets the next ejection's length. */
  ejections: number;
  /** Failed health checks in a row; one slow probe on a busy machine is not an outage. */
  failedChecks: number;
}

export interface ReplicaSetOptions {
  /** First ejection in ms; doubles with each repeat up to `maxEjectMs`. Defaults 1 s and 30 s. */
  baseEjectMs?: number;
  maxEjectMs?: number;
  /** Consecutive failures that eject a replica as an outlier. Default 3. */
  ejectAfterFailures?: number;
  /** At most this share of replicas is ejected as outliers at once. Default 50. */
  maxEjectedPercent?: number;
  connectTimeoutMs?: number;
  /** Default time to the response headers; requests may set their own. */
  headersTimeoutMs?: number;
  /** Active health checks: how often, and on which path. Off when the interval is 0 (default). */
  healthIntervalMs?: number;
  healthPath?: string;
  /**
   * How often host names are looked up again, in ms (default 5000; 0: a name is one replica).
   * Addresses found later start unhealthy when health checks are on, until one passes.
   */
  discoveryIntervalMs?: number;
  /** The addresses behind a host name; default: every record `getaddrinfo` returns. */
  resolve?: (host: string) => Promise<string[]>;
  /**
   * PRINCIPAL_SECRET, for a set of the stack's own processes: every request sent to them is
   * signed for itself at each attempt (callSignature.ts). Unset for the router's gateway sets.
   */
  signWith?: string;
  /** Called when a replica's state changes, for metrics and logs. */
  onChange?: (
    replica: Replica,
    event: "ejected" | "restored" | "unhealthy" | "healthy" | "discovered" | "removed",
  ) => void;
  now?: () => number;
}

const UNHEALTHY_THRESHOLD = 2;

const resolveAll = async (host: string) =>
  (await lookup(host, { all: true })).map((a) => a.address);

/** Names that are not looked up: a literal address, or the machine itself. */
const isDiscoverable = (host: string) => isIP(host) === 0 && host !== "localhost";

export class ReplicaSet {
  readonly name: string;
  /** The stack secret that signs what is sent to this set (`ReplicaSetOptions.signWith`). */
  readonly signWith: string | undefined;
  private current: Replica[];
  private next = 0;
  private readonly opts: Required<Omit<ReplicaSetOptions, "onChange" | "signWith">> &
    Pick<ReplicaSetOptions, "onChange">;
  private healthTimer: NodeJS.Timeout | undefined;
  private discoveryTimer: NodeJS.Timeout | undefined;
  /** The URLs the set was given; a named one expands to one replica per address. */
  private readonly sources: readonly { url: string; parsed: URL }[];
  /** Which given URL each replica's URL came from. */
  private readonly sourceOf = new Map<string, string>();

  constructor(name: string, urls: readonly string[], opts: ReplicaSetOptions = {}) {
    if (urls.length === 0) throw new Error(`${name}: no replica URL`);
    this.name = name;
    this.signWith = opts.signWith;
    this.opts = {
      baseEjectMs: opts.baseEjectMs ?? 1_000,
      maxEjectMs: opts.maxEjectMs ?? 30_000,
      ejectAfterFailures: opts.ejectAfterFailures ?? 3,
      maxEjectedPercent: opts.maxEjectedPercent ?? 50,
      connectTimeoutMs: opts.connectTimeoutMs ?? 2_000,
      headersTimeoutMs: opts.headersTimeoutMs ?? 30_000,
      healthIntervalMs: opts.healthIntervalMs ?? 0,
      healthPath: opts.healthPath ?? "/readyz",
      discoveryIntervalMs: opts.discoveryIntervalMs ?? 5_000,
      resolve: opts.resolve ?? resolveAll,
      onChange: opts.onChange,
      now: opts.now ?? Date.now,
    };
    this.sources = urls.map((url) => ({ url, parsed: new URL(url) }));
    // Until the first lookup, a name is one replica, as before discovery: requests can start.
    this.current = urls.map((url) => {
      this.sourceOf.set(url, url);
      return this.replica(url, true);
    });
    if (this.opts.healthIntervalMs > 0) {
      this.healthTimer = setInterval(() => void this.checkHealth(), this.opts.healthIntervalMs);
      this.healthTimer.unref();
    }
    if (
      this.opts.discoveryIntervalMs > 0 &&
      this.sources.some((s) => isDiscoverable(s.parsed.hostname))
    ) {
      void this.discover();
      this.discoveryTimer = setInterval(() => void this.discover(), this.opts.discoveryIntervalMs);
      this.discoveryTimer.unref();
    }
  }

  /** The replicas in rotation now (a discovered name's addresses change over time). */
  get replicas(): readonly Replica[] {
    return this.current;
  }

  private replica(url: string, healthy: boolean): Replica {
    return {
      url,
      pool: new Pool(new URL(url).origin, {
        connections: 64,
        keepAliveTimeout: 30_000,
        connectTimeout: this.opts.connectTimeoutMs,
        headersTimeout: this.opts.headersTimeoutMs,
        bodyTimeout: 0,
      }),
      healthy,
      ejectedUntil: 0,
      ejectedFor: undefined,
      consecutiveFailures: 0,
      ejections: 0,
      failedChecks: 0,
    };
  }

  private discovering: Promise<void> | undefined;
  private closed = false;

  /**
   * Looks every name up and makes the set one replica per address. A replica that stays keeps
   * its state (health, ejections); one that is gone is closed once its requests finish. A name
   * that cannot be resolved keeps the replicas it had: a DNS hiccup must not empty the set.
   */
  discover(): Promise<void> {
    this.discovering ??= this.lookUp().finally(() => (this.discovering = undefined));
    return this.discovering;
  }

  private async lookUp(): Promise<void> {
    const wanted = await Promise.all(
      this.sources.map(async ({ url, parsed }) => {
        if (!isDiscoverable(parsed.hostname)) return [url];
        const addresses = await this.opts.resolve(parsed.hostname).catch(() => []);
        if (addresses.length === 0) {
          return this.current.filter((r) => this.sourceOf.get(r.url) === url).map((r) => r.url);
        }
        return addresses.map((address) => {
          const host = `${isIP(address) === 6 ? `[${address}]` : address}${parsed.port ? `:${parsed.port}` : ""}`;
          const expanded = url.replace(`//${parsed.host}`, `//${host}`);
          this.sourceOf.set(expanded, url);
          return expanded;
        });
      }),
    );
    // Closed while looking up: opening pools now would leak them.
    if (this.closed) return;
    const urls = [...new Set(wanted.flat())];
    const known = new Map(this.current.map((r) => [r.url, r]));
    // A new address has not answered anything yet: with health checks on, it waits for one.
    const fresh = this.opts.healthIntervalMs === 0;
    const next = urls.map((url) => known.get(url) ?? this.replica(url, fresh));
    const kept = new Set(next);
    const gone = this.current.filter((r) => !kept.has(r));
    if (gone.length === 0 && next.length === this.current.length) return;
    this.current = next;
    this.next = this.next % next.length;
    for (const r of gone) {
      this.sourceOf.delete(r.url);
      void r.pool.close().catch(() => undefined);
      this.opts.onChange?.(r, "removed");
    }
    for (const r of next) if (!known.has(r.url)) this.opts.onChange?.(r, "discovered");
    if (next.some((r) => !known.has(r.url)) && this.opts.healthIntervalMs > 0) {
      void this.checkHealth();
    }
  }

  private available(r: Replica, now: number): boolean {
    return r.ejectedUntil <= now;
  }

  /**
   * The next replica in turn, not in `tried`: a healthy one if any; else one not ejected; else,
   * rather than fail outright ("panic mode"), any replica not yet tried.
   */
  pick(tried?: ReadonlySet<Replica>): Replica | undefined {
    const now = this.opts.now();
    const n = this.replicas.length;
    // Tier 0 healthy and not ejected, 1 not ejected, 2 any: a plain loop, since every hop picks
    // once per request.
    for (let tier = 0; tier < 3; tier++) {
      for (let i = 0; i < n; i++) {
        const index = (this.next + i) % n;
        const replica = this.replicas[index]!;
        if (tried?.has(replica)) continue;
        if (tier < 2 && !this.available(replica, now)) continue;
        if (tier === 0 && !replica.healthy) continue;
        this.next = (index + 1) % n;
        return replica;
      }
    }
    return undefined;
  }

  succeeded(replica: Replica): void {
    replica.consecutiveFailures = 0;
    if (replica.ejectedUntil > 0) this.restore(replica);
  }

  /** Records a failed request; `down` means the replica refused the connection. */
  failed(replica: Replica, kind: "down" | "error" = "error"): void {
    replica.consecutiveFailures++;
    const now = this.opts.now();
    if (!this.available(replica, now)) return;
    if (kind === "down") return this.eject(replica, "down", now);
    if (replica.consecutiveFailures < this.opts.ejectAfterFailures) return;
    const ejected = this.replicas.filter(
      (r) => r.ejectedFor === "outlier" && !this.available(r, now),
    );
    const cap = Math.floor((this.replicas.length * this.opts.maxEjectedPercent) / 100);
    if (ejected.length < cap) this.eject(replica, "outlier", now);
  }

  private eject(replica: Replica, reason: "down" | "outlier", now: number): void {
    replica.ejections++;
    const ms = Math.min(this.opts.maxEjectMs, this.opts.baseEjectMs * 2 ** (replica.ejections - 1));
    replica.ejectedUntil = now + ms;
    replica.ejectedFor = reason;
    this.opts.onChange?.(replica, "ejected");
  }

  private restore(replica: Replica): void {
    replica.ejectedUntil = 0;
    replica.ejectedFor = undefined;
    this.opts.onChange?.(replica, "restored");
  }

  private checking: Promise<void> | undefined;
  private recheck: Promise<void> | undefined;

  /**
   * One round of active health checks over every replica. A replica turns unhealthy after
   * `UNHEALTHY_THRESHOLD` failed checks in a row and healthy again after one that passes. Called
   * while a round runs, it queues one more (at most one), which sees replicas added meanwhile.
   */
  checkHealth(): Promise<void> {
    if (this.checking) {
      this.recheck ??= this.checking.then(() => {
        this.recheck = undefined;
        return this.checkHealth();
      });
      return this.recheck;
    }
    this.checking = this.probeAll().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async probeAll(): Promise<void> {
    const timeout = 2_000;
    await Promise.all(
      this.replicas.map(async (replica) => {
        let ok: boolean;
        try {
          const res = await replica.pool.request({
            method: "GET",
            path: this.opts.healthPath,
            headersTimeout: timeout,
            bodyTimeout: timeout,
          });
          await res.body.dump();
          ok = res.statusCode === 200;
        } catch {
          ok = false;
        }
        replica.failedChecks = ok ? 0 : replica.failedChecks + 1;
        const healthy = ok || (replica.healthy && replica.failedChecks < UNHEALTHY_THRESHOLD);
        if (healthy !== replica.healthy) {
          replica.healthy = healthy;
          this.opts.onChange?.(replica, healthy ? "healthy" : "unhealthy");
        }
        if (ok) {
          replica.ejections = Math.max(0, replica.ejections - 1);
          // A replica ejected for refusing connections is back as soon as it answers.
          if (replica.ejectedFor === "down") this.restore(replica);
        }
      }),
    );
  }

  healthyCount(): number {
    const now = this.opts.now();
    return this.replicas.filter((r) => r.healthy && this.available(r, now)).length;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.healthTimer) clearInterval(this.healthTimer);
    if (this.discoveryTimer) clearInterval(this.discoveryTimer);
    await Promise.all(this.replicas.map((r) => r.pool.close()));
  }
}

export interface UpstreamRequest {
  method: string;
  /** Path and query, e.g. `/v1/orders?limit=10`. */
  path: string;
  headers: Record<string, string>;
  /**
   * Bytes, or views of a stream (an upload passed through, see proxy.ts `bodyViews`): one per
   * attempt, none when there is no body left to send again.
   */
  body?: Buffer | (() => Buffer | Readable | undefined);
  /** May this request be sent again after a connection broke mid-way (GET, PUT, idempotency key)? */
  retryable: boolean;
  signal?: AbortSignal;
}

export interface UpstreamResponse {
  replica: Replica;
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData["body"];
  attempts: number;
}

/**
 * An answer being passed on: its body from undici's dispatcher or from node:http (a streamed
 * call), read once (dispatch.ts).
 */
export type ProxiedResponse = Omit<UpstreamResponse, "body"> & { body: AnswerBody };

const CONNECT_FAILURES = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND"]);

/** The request never reached the replica, so it is safe to send anywhere else. */
export function neverSent(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? "";
  return CONNECT_FAILURES.has(code) || err instanceof undiciErrors.ConnectTimeoutError;
}

/** The connection broke after the request may have been received. */
export function brokenConnection(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? "";
  return (
    code === "ECONNRESET" ||
    code === "EPIPE" ||
    err instanceof undiciErrors.SocketError ||
    err instanceof undiciErrors.HeadersTimeoutError ||
    err instanceof undiciErrors.BodyTimeoutError
  );
}

/**
 * undici would not send the request as it is (a header or body it refuses): a fault of the
 * request, the same on every replica, so it is the caller's 400 and no replica's failure.
 */
export function refusedRequest(err: unknown): ApiError | undefined {
  if (
    err instanceof undiciErrors.InvalidArgumentError ||
    err instanceof undiciErrors.NotSupportedError
  )
    return badRequest("invalid_request", "the request cannot be forwarded as it was sent");
  return undefined;
}

export class NoReplicaError extends Error {
  readonly attempts: number;
  constructor(set: string, attempts: number, cause?: unknown) {
    super(`${set}: no replica answered after ${attempts} attempt(s)`, { cause });
    this.name = "NoReplicaError";
    this.attempts = attempts;
  }
}

/**
 * The headers of one attempt of `req` to `set`: with the call's signature when the set is the
 * stack's own (`signWith`), signed at each attempt so that its time is the time it is sent.
 */
export function signedHeaders(
  set: ReplicaSet,
  req: { method: string; path: string; headers: Record<string, string>; body?: Buffer },
): Record<string, string> {
  if (!set.signWith) return req.headers;
  return {
    ...req.headers,
    [CALL_SIGNATURE_HEADER]: signCall(set.signWith, {
      method: req.method,
      target: req.path,
      headers: req.headers,
      body: req.body,
    }),
  };
}

/**
 * After a failed attempt of a failover: the replica's failure recorded, and whether the request
 * may go to the next replica (it never reached this one, or it broke and may be sent twice). A
 * request undici would not send is the caller's 400, thrown here.
 */
export function failover(
  set: ReplicaSet,
  replica: Replica,
  err: unknown,
  retryable: boolean,
): boolean {
  const refused = refusedRequest(err);
  if (refused) throw refused;
  if (neverSent(err)) set.failed(replica, "down");
  else if (brokenConnection(err)) set.failed(replica);
  return neverSent(err) || (brokenConnection(err) && retryable);
}

/**
 * Sends to one replica, and on a connection failure to the next, at most once per replica. A
 * request that may have been received is only sent again when it is `retryable`.
 */
export async function sendToReplicas(
  set: ReplicaSet,
  req: UpstreamRequest,
): Promise<UpstreamResponse> {
  const tried = new Set<Replica>();
  let lastError: unknown;
  while (tried.size < set.replicas.length) {
    const body = typeof req.body === "function" ? req.body() : req.body;
    // A stream that an earlier attempt read from, and kept no copy of: none to send again.
    if (typeof req.body === "function" && !body) break;
    const replica = set.pick(tried);
    if (!replica) break;
    tried.add(replica);
    // A streamed body (the router's) is never signed: the router holds no secret.
    const headers =
      typeof req.body === "function" ? req.headers : signedHeaders(set, { ...req, body: req.body });
    try {
      const res = await replica.pool.request({
        method: req.method as "GET",
        path: req.path,
        headers,
        body,
        signal: req.signal,
      });
      set.succeeded(replica);
      return {
        replica,
        statusCode: res.statusCode,
        headers: res.headers,
        body: res.body,
        attempts: tried.size,
      };
    } catch (err) {
      if (req.signal?.aborted) throw err;
      lastError = err;
      if (failover(set, replica, err, req.retryable)) continue;
      throw new NoReplicaError(set.name, tried.size, err);
    }
  }
  throw new NoReplicaError(set.name, tried.size, lastError);
}
