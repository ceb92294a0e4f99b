import { Agent } from "node:http";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import type { DomainSpec } from "../../platform/catalog/schema.ts";
import { ApiError } from "../shared/errors.ts";
import {
  DispatchedCall,
  streamedBody,
  type AnswerBody,
  type DispatchRequest,
} from "../shared/dispatch.ts";
import type { BodyViews } from "../shared/proxy.ts";
import {
  NoReplicaError,
  brokenConnection,
  neverSent,
  refusedRequest,
  signedHeaders,
  type ProxiedResponse,
  type Replica,
  type ReplicaSet,
} from "../shared/upstream.ts";
import { Breaker, BreakerState, BrokenCircuitError } from "./breaker.ts";
import type { GatewayMetrics } from "./metrics.ts";
import { RetryBudget } from "./retryBudget.ts";
import { sendStreamed } from "./streamedCall.ts";

export type Resilience = DomainSpec["gateway"]["resilience"];

export interface CallRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** Bytes read by the gateway, or views of an upload streamed through (proxy.ts `bodyViews`). */
  body?: Buffer | BodyViews;
  /** A streamed body's cap (the route's `maxBodyBytes`); a buffered body was checked on reading. */
  maxBodyBytes?: number;
  /**
   * Safe to send twice: idempotent method, or a write that carries an Idempotency-Key. A streamed
   * body is sent again only if its views still have it whole.
   */
  retryable: boolean;
  firstByteMs: number;
  idleMs: number;
  signal?: AbortSignal;
}

export interface CallResult {
  response: ProxiedResponse;
  attempts: number;
}

/** One attempt failed in a way that counts against the service (not the caller's own abort). */
export class AttemptFailed extends Error {
  readonly retryable: boolean;
  /** False when the request never left the gateway (the connection was refused). */
  readonly reached: boolean;
  /** Which attempt of its request failed (1 = the first). */
  attempt = 0;
  constructor(message: string, retryable: boolean, reached: boolean, cause?: unknown) {
    super(message, { cause });
    this.name = "AttemptFailed";
    this.retryable = retryable;
    this.reached = reached;
  }
}

/** Calls that failed after one of their attempts may have reached a replica. */
const reachedAReplica = new WeakSet<object>();

/**
 * Whether a failed call may have been acted on: false only when no attempt of it left the
 * gateway (breaker open, no replica, every connection refused), so that its fallback answer can
 * tell the client, truthfully, that sending it again does nothing twice.
 */
export function mayHaveReached(err: unknown): boolean {
  return typeof err === "object" && err !== null && reachedAReplica.has(err);
}

/** Every way a call can fail that the fallback handler answers for. */
export function isUpstreamFailure(err: unknown): boolean {
  return (
    err instanceof AttemptFailed ||
    err instanceof BrokenCircuitError ||
    err instanceof NoReplicaError
  );
}

const RETRYABLE_STATUS = new Set([502, 503, 504]);

/**
 * Calls one upstream (a service version's replicas) through the policies of the seeds, in the
 * order of the diagram: circuit breaker (breaker.ts) -> retry (exponential backoff, full jitter,
 * capped by a retry budget) -> failover (each attempt on another healthy replica) -> the request,
 * with a time limit to the first byte and between body chunks. A call that fails after its
 * retries counts once against the breaker; an error that is not the upstream's (the caller gone,
 * a request no replica could take) counts neither way.
 */
export class ServiceClient {
  readonly name: string;
  readonly set: ReplicaSet;
  private readonly cfg: Resilience;
  private readonly breaker: Breaker;
  private readonly budget: RetryBudget;
  private readonly metrics: GatewayMetrics;
  /** Connections for streamed uploads, which undici cannot sign (streamedCall.ts). */
  private readonly streamAgent = new Agent({ keepAlive: true });

  constructor(name: string, set: ReplicaSet, cfg: Resilience, metrics: GatewayMetrics) {
    this.name = name;
    this.set = set;
    this.cfg = cfg;
    this.metrics = metrics;
    this.budget = new RetryBudget({ percent: cfg.retryBudgetPercent });
    this.breaker = new Breaker(cfg.breakerFailures, cfg.breakerHalfOpenMs, (state) => {
      metrics.breakerState.set({ upstream: name }, state);
      if (state === BreakerState.Open) metrics.breakerOpened.inc({ upstream: name });
    });
    metrics.breakerState.set({ upstream: name }, BreakerState.Closed);
  }

  get breakerOpen(): boolean {
    return this.breaker.state === BreakerState.Open;
  }

  async call(req: CallRequest): Promise<CallResult> {
    this.budget.recordRequest();
    const entered = this.breaker.enter();
    const ticket = typeof entered === "number" ? entered : await entered;
    const tried = new Set<Replica>();
    let reached = false;
    for (let attempts = 1; ; attempts++) {
      try {
        // Prefer a replica this request has not tried; with fewer replicas than attempts, reuse.
        const replica = this.set.pick(tried) ?? this.set.pick();
        if (!replica) throw new NoReplicaError(this.name, attempts);
        tried.add(replica);
        const response = await this.attempt(replica, req);
        this.breaker.settle(ticket, "success");
        return { response, attempts };
      } catch (err) {
        if (err instanceof AttemptFailed) {
          err.attempt = attempts;
          reached ||= err.reached;
        }
        if (this.retrying(err, attempts) && !req.signal?.aborted) {
          await sleep(this.backoffMs(attempts));
          continue;
        }
        this.breaker.settle(ticket, countsAgainst(err) ? "failure" : "neutral");
        if (reached && typeof err === "object" && err !== null) reachedAReplica.add(err);
        throw err;
      }
    }
  }

  /** Whether a failed attempt is tried again: one that may be, while attempts and budget last. */
  private retrying(err: unknown, attempts: number): boolean {
    if (!(err instanceof AttemptFailed) || !err.retryable || attempts >= this.cfg.maxAttempts)
      return false;
    const allowed = this.budget.tryRetry();
    this.metrics.retries.inc({
      upstream: this.name,
      outcome: allowed ? "attempted" : "denied_by_budget",
    });
    return allowed;
  }

  /** Full jitter: a random wait up to base x 2^(retry - 1), capped. */
  private backoffMs(failedAttempts: number): number {
    const { backoffBaseMs, backoffMaxMs } = this.cfg;
    return Math.floor(
      Math.random() * Math.min(backoffMaxMs, backoffBaseMs * 2 ** (failedAttempts - 1)),
    );
  }

  private async attempt(replica: Replica, req: CallRequest): Promise<ProxiedResponse> {
    const body = typeof req.body === "function" ? req.body() : req.body;
    let head: { statusCode: number; headers: ProxiedResponse["headers"]; body: AnswerBody };
    try {
      if (body instanceof Readable) {
        const res = await sendStreamed({
          url: replica.url,
          agent: this.streamAgent,
          method: req.method,
          path: req.path,
          headers: req.headers,
          body,
          signWith: this.set.signWith,
          maxBodyBytes: req.maxBodyBytes ?? Infinity,
          firstByteMs: req.firstByteMs,
          idleMs: req.idleMs,
          signal: req.signal,
        });
        head = { statusCode: res.statusCode ?? 502, headers: res.headers, body: streamedBody(res) };
      } else {
        const call = await dispatched(replica, req, {
          method: req.method,
          path: req.path,
          headers: signedHeaders(this.set, { ...req, body }),
          body,
          headersTimeout: req.firstByteMs,
          bodyTimeout: req.idleMs,
        });
        head = { statusCode: call.statusCode, headers: call.headers, body: call };
      }
    } catch (err) {
      // The caller went away: not the service's fault, and nothing to retry for.
      if (req.signal?.aborted) throw err;
      // Nor is a request that could not be sent as it was, or an upload the client spoilt:
      // neither breaker nor ejection counts it.
      if (err instanceof ApiError) throw err;
      const refused = refusedRequest(err);
      if (refused) throw refused;
      if (neverSent(err)) {
        this.set.failed(replica, "down");
        throw new AttemptFailed(
          `${this.name}: ${replica.url} refused the connection`,
          resendable(req.body),
          false,
          err,
        );
      }
      this.set.failed(replica);
      const broken = brokenConnection(err);
      throw new AttemptFailed(
        `${this.name}: ${replica.url} failed: ${(err as Error).message}`,
        broken && req.retryable && resendable(req.body),
        true,
        err,
      );
    }
    if (RETRYABLE_STATUS.has(head.statusCode)) {
      await head.body.dump();
      this.set.failed(replica);
      throw new AttemptFailed(
        `${this.name}: ${replica.url} answered ${head.statusCode}`,
        req.retryable && resendable(req.body),
        true,
      );
    }
    if (head.statusCode >= 500) this.set.failed(replica);
    else this.set.succeeded(replica);
    return { replica, ...head, attempts: 1 };
  }

  async close(): Promise<void> {
    this.streamAgent.destroy();
    await this.set.close();
  }
}

/**
 * One call through undici's dispatcher (shared/dispatch.ts), stopped if the caller's signal
 * fires before the answer's head; after it, the hop relaying the answer stops it.
 */
async function dispatched(
  replica: Replica,
  req: CallRequest,
  request: DispatchRequest,
): Promise<DispatchedCall> {
  const call = new DispatchedCall();
  const { signal } = req;
  if (!signal) return call.send(replica.pool, request);
  signal.throwIfAborted();
  const stop = () => call.abort(signal.reason as Error);
  signal.addEventListener("abort", stop, { once: true });
  try {
    return await call.send(replica.pool, request);
  } finally {
    signal.removeEventListener("abort", stop);
  }
}

/** An error the breaker counts: the upstream failed, or had no replica to try. */
function countsAgainst(err: unknown): boolean {
  return err instanceof AttemptFailed || err instanceof NoReplicaError;
}

/** Whether the body, if any, can go out once more (a streamed one only while whole). */
function resendable(body: CallRequest["body"]): boolean {
  return typeof body !== "function" || body.replayable;
}
