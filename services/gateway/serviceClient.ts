import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  circuitBreaker,
  fullJitterGenerator,
  handleWhen,
  retry,
  wrap,
  type IPolicy,
} from "cockatiel";
import { Agent } from "node:http";
import { Readable } from "node:stream";
import type { DomainSpec } from "../../platform/catalog/schema.ts";
import { ApiError } from "../shared/errors.ts";
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
  /** Which attempt of its request failed (1 = the first). */
  attempt = 0;
  constructor(message: string, retryable: boolean, cause?: unknown) {
    super(message, { cause });
    this.name = "AttemptFailed";
    this.retryable = retryable;
  }
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
const STATE_VALUE: Record<CircuitState, number> = {
  [CircuitState.Closed]: 0,
  [CircuitState.Open]: 1,
  [CircuitState.HalfOpen]: 2,
  [CircuitState.Isolated]: 3,
};

/**
 * Calls one upstream (a service version's replicas) through the policies of the seeds, composed
 * as cockatiel policies in the order of the diagram: circuit breaker -> retry (exponential
 * backoff, full jitter, capped by a retry budget) -> failover (each attempt on another healthy
 * replica) -> the request, with a time limit to the first byte and between body chunks.
 */
export class ServiceClient {
  readonly name: string;
  readonly set: ReplicaSet;
  private readonly policy: IPolicy;
  private readonly breaker: ReturnType<typeof circuitBreaker>;
  private readonly budget: RetryBudget;
  private readonly metrics: GatewayMetrics;
  /** Connections for streamed uploads, which undici cannot sign (streamedCall.ts). */
  private readonly streamAgent = new Agent({ keepAlive: true });

  constructor(name: string, set: ReplicaSet, cfg: Resilience, metrics: GatewayMetrics) {
    this.name = name;
    this.set = set;
    this.metrics = metrics;
    this.budget = new RetryBudget({ percent: cfg.retryBudgetPercent });
    const retryPolicy = retry(
      handleWhen((err) => {
        // cockatiel asks even after the last attempt; only a retry that will happen spends budget.
        if (!(err instanceof AttemptFailed) || !err.retryable || err.attempt >= cfg.maxAttempts)
          return false;
        const allowed = this.budget.tryRetry();
        metrics.retries.inc({
          upstream: name,
          outcome: allowed ? "attempted" : "denied_by_budget",
        });
        return allowed;
      }),
      {
        maxAttempts: cfg.maxAttempts - 1,
        backoff: new ExponentialBackoff({
          initialDelay: cfg.backoffBaseMs,
          maxDelay: cfg.backoffMaxMs,
          generator: fullJitterGenerator,
        }),
      },
    );
    this.breaker = circuitBreaker(
      handleWhen((err) => err instanceof AttemptFailed || err instanceof NoReplicaError),
      {
        halfOpenAfter: cfg.breakerHalfOpenMs,
        breaker: new ConsecutiveBreaker(cfg.breakerFailures),
      },
    );
    metrics.breakerState.set({ upstream: name }, 0);
    this.breaker.onStateChange((state) =>
      metrics.breakerState.set({ upstream: name }, STATE_VALUE[state]),
    );
    this.breaker.onBreak(() => metrics.breakerOpened.inc({ upstream: name }));
    this.policy = wrap(this.breaker, retryPolicy);
  }

  get breakerOpen(): boolean {
    return this.breaker.state === CircuitState.Open || this.breaker.state === CircuitState.Isolated;
  }

  async call(req: CallRequest): Promise<CallResult> {
    this.budget.recordRequest();
    const tried = new Set<Replica>();
    let attempts = 0;
    const response = await this.policy.execute(async () => {
      attempts++;
      // Prefer a replica this request has not tried; with fewer replicas than attempts, reuse.
      const replica = this.set.pick(tried) ?? this.set.pick();
      if (!replica) throw new NoReplicaError(this.name, attempts);
      tried.add(replica);
      try {
        return await this.attempt(replica, req);
      } catch (err) {
        if (err instanceof AttemptFailed) err.attempt = attempts;
        throw err;
      }
    }, req.signal);
    return { response, attempts };
  }

  private async attempt(replica: Replica, req: CallRequest): Promise<ProxiedResponse> {
    const body = typeof req.body === "function" ? req.body() : req.body;
    let head: { statusCode: number; headers: ProxiedResponse["headers"]; body: Readable };
    let discard: () => Promise<unknown>;
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
        head = { statusCode: res.statusCode ?? 502, headers: res.headers, body: res };
        discard = () => new Promise((done) => res.resume().once("close", done));
      } else {
        const res = await replica.pool.request({
          method: req.method as "GET",
          path: req.path,
          headers: signedHeaders(this.set, { ...req, body }),
          body,
          signal: req.signal,
          headersTimeout: req.firstByteMs,
          bodyTimeout: req.idleMs,
        });
        head = { statusCode: res.statusCode, headers: res.headers, body: res.body };
        discard = () => res.body.dump();
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
          err,
        );
      }
      this.set.failed(replica);
      const broken = brokenConnection(err);
      throw new AttemptFailed(
        `${this.name}: ${replica.url} failed: ${(err as Error).message}`,
        broken && req.retryable && resendable(req.body),
        err,
      );
    }
    if (RETRYABLE_STATUS.has(head.statusCode)) {
      await discard();
      this.set.failed(replica);
      throw new AttemptFailed(
        `${this.name}: ${replica.url} answered ${head.statusCode}`,
        req.retryable && resendable(req.body),
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

/** Whether the body, if any, can go out once more (a streamed one only while whole). */
function resendable(body: CallRequest["body"]): boolean {
  return typeof body !== "function" || body.replayable;
}
