import { Pool, errors as undiciErrors } from "undici";
import type { Dispatcher } from "undici";

// Client-side load balancing over a service's replicas: one keep-alive pool per replica (the
// largest single cost of a Node proxy is a missing keep-alive agent), round robin over the
// replicas not ejected, and a replica that refuses or drops connections is ejected for a while
// that grows with each repeat, so a retry goes to another one.

export interface Replica {
  readonly url: string;
  readonly pool: Pool;
  ejectedUntil: number;
  consecutiveFailures: number;
}

export interface ReplicaSetOptions {
  /** First ejection in ms; doubles with each consecutive failure up to `maxEjectMs`. */
  baseEjectMs?: number;
  maxEjectMs?: number;
  connectTimeoutMs?: number;
  /** Time to the response headers; bodies (streams) are not cut by a total timeout. */
  headersTimeoutMs?: number;
}

export class ReplicaSet {
  readonly name: string;
  readonly replicas: readonly Replica[];
  private next = 0;
  private readonly baseEjectMs: number;
  private readonly maxEjectMs: number;

  constructor(name: string, urls: readonly string[], opts: ReplicaSetOptions = {}) {
    if (urls.length === 0) throw new Error(`${name}: no replica URL`);
    this.name = name;
    this.baseEjectMs = opts.baseEjectMs ?? 1_000;
    this.maxEjectMs = opts.maxEjectMs ?? 30_000;
    this.replicas = urls.map((url) => ({
      url,
      pool: new Pool(new URL(url).origin, {
        connections: 64,
        keepAliveTimeout: 30_000,
        connectTimeout: opts.connectTimeoutMs ?? 2_000,
        headersTimeout: opts.headersTimeoutMs ?? 30_000,
        bodyTimeout: 0,
      }),
      ejectedUntil: 0,
      consecutiveFailures: 0,
    }));
  }

  /** The next replica in turn that is not ejected and not in `tried`; ejected ones as a last resort. */
  pick(tried: ReadonlySet<Replica> = new Set()): Replica | undefined {
    const now = Date.now();
    const n = this.replicas.length;
    let fallback: Replica | undefined;
    for (let i = 0; i < n; i++) {
      const replica = this.replicas[(this.next + i) % n]!;
      if (tried.has(replica)) continue;
      if (replica.ejectedUntil <= now) {
        this.next = (this.next + i + 1) % n;
        return replica;
      }
      if (!fallback || replica.ejectedUntil < fallback.ejectedUntil) fallback = replica;
    }
    return fallback;
  }

  succeeded(replica: Replica): void {
    replica.consecutiveFailures = 0;
    replica.ejectedUntil = 0;
  }

  failed(replica: Replica): void {
    replica.consecutiveFailures++;
    const ms = Math.min(this.maxEjectMs, this.baseEjectMs * 2 ** (replica.consecutiveFailures - 1));
    replica.ejectedUntil = Date.now() + ms;
  }

  healthyCount(): number {
    const now = Date.now();
    return this.replicas.filter((r) => r.ejectedUntil <= now).length;
  }

  async close(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.pool.close()));
  }
}

export interface UpstreamRequest {
  method: string;
  /** Path and query, e.g. `/v1/orders?limit=10`. */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
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

const CONNECT_FAILURES = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND"]);

/** The request never reached the replica, so it is safe to send anywhere else. */
function neverSent(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? "";
  return CONNECT_FAILURES.has(code) || err instanceof undiciErrors.ConnectTimeoutError;
}

/** The connection broke after the request may have been received. */
function brokenConnection(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? "";
  return (
    code === "ECONNRESET" ||
    code === "EPIPE" ||
    err instanceof undiciErrors.SocketError ||
    err instanceof undiciErrors.HeadersTimeoutError
  );
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
    const replica = set.pick(tried);
    if (!replica) break;
    tried.add(replica);
    try {
      const res = await replica.pool.request({
        method: req.method as "GET",
        path: req.path,
        headers: req.headers,
        body: req.body,
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
      if (neverSent(err) || brokenConnection(err)) set.failed(replica);
      if (neverSent(err) || (brokenConnection(err) && req.retryable)) continue;
      throw new NoReplicaError(set.name, tried.size, err);
    }
  }
  throw new NoReplicaError(set.name, tried.size, lastError);
}
