import { createHash } from "node:crypto";
import { Counter, Gauge, type Registry } from "prom-client";
import { z } from "zod";
import { PRINCIPAL_HEADER_PREFIX } from "../shared/principal.ts";
import { signParts, verifyParts } from "../shared/signing.ts";

// The dead-letter queue of a gateway tier: a write that carries an Idempotency-Key and cannot
// reach its service is parked here and answered 202; a replayer sends it again once the service
// is back. "Exactly once per idempotency key" rests on two layers: the queue keeps one message
// per (principal, key) where every replica can see it, and the replay carries the original key
// so that the service itself drops a replay that raced a late original or a crashed replayer.
// Two stores share one contract: Kafka (`<domain>.dlq`, the deployed default) and a SQL table in
// the gateway's own database (SQLite by default), for `npm start` without Kafka.

const PARKABLE_METHODS = ["POST", "PUT", "PATCH", "DELETE"] as const;

/** Printable ASCII without spaces, as the IETF idempotency-key draft and Stripe allow. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** The headers a replay needs; everything else (auth, cookies, hop-by-hop) is left behind. */
const REPLAY_HEADERS = new Set(["content-type", "traceparent", "x-request-id"]);

export const parkedRequestSchema = z.object({
  trackingId: z.string().regex(/^dlq_[A-Za-z0-9_-]{24}$/),
  idempotencyKey: z.string().regex(IDEMPOTENCY_KEY),
  /** The verified user id: idempotency keys are scoped per user, as the services scope them. */
  principal: z.string().min(1),
  service: z.string().min(1),
  method: z.enum(PARKABLE_METHODS),
  /** Path and query, e.g. `/v1/orders?dry=1`. */
  path: z.string().startsWith("/"),
  headers: z.record(z.string(), z.string()),
  /** The request body, base64; empty when there was none. */
  body: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/),
  parkedAt: z.iso.datetime(),
  /**
   * The parking gateway's HMAC (PRINCIPAL_SECRET) over the rest: anything else that can write
   * to the queue's store cannot have a write replayed as a user of its choosing.
   */
  signature: z.string().min(1),
});
export type ParkedRequest = z.infer<typeof parkedRequestSchema>;

/**
 * Deterministic, so that every replica hands out the same id for the same (principal, key)
 * without asking anyone, and a client that parks twice sees one id.
 */
export function trackingIdFor(domain: string, principal: string, idempotencyKey: string): string {
  const digest = createHash("sha256")
    .update(`${domain}\0${principal}\0${idempotencyKey}`)
    .digest("base64url");
  return `dlq_${digest.slice(0, 24)}`;
}

/** What makes two parks "the same request": a different one under the same key is a conflict. */
export function fingerprintOf(req: ParkedRequest): string {
  return createHash("sha256")
    .update(`${req.method}\n${req.path}\n`)
    .update(Buffer.from(req.body, "base64"))
    .digest("hex");
}

export interface ParkedRequestArgs {
  domain: string;
  service: string;
  method: string;
  /** Path and query as sent upstream. */
  path: string;
  /** The verified user id. */
  principal: string;
  /** The headers the gateway would send upstream (principal headers included). */
  headers: Record<string, string | string[] | undefined>;
  idempotencyKey: string;
  body?: Buffer;
  now?: Date;
  /** PRINCIPAL_SECRET, which signs the parked request. */
  secret: string;
}

/** The parked form of a write the gateway could not deliver; throws if it cannot be parked. */
export function parkedRequest(args: ParkedRequestArgs): ParkedRequest {
  return parkedRequestSchema.parse(buildParked(args));
}

export function buildParked(args: ParkedRequestArgs): Record<keyof ParkedRequest, unknown> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(args.headers)) {
    const lower = name.toLowerCase();
    if (value === undefined) continue;
    if (!REPLAY_HEADERS.has(lower) && !lower.startsWith(PRINCIPAL_HEADER_PREFIX)) continue;
    headers[lower] = Array.isArray(value) ? value.join(", ") : value;
  }
  const unsigned = {
    trackingId: trackingIdFor(args.domain, args.principal, args.idempotencyKey),
    idempotencyKey: args.idempotencyKey,
    principal: args.principal,
    service: args.service,
    method: args.method.toUpperCase(),
    path: args.path,
    headers,
    body: (args.body ?? Buffer.alloc(0)).toString("base64"),
    parkedAt: (args.now ?? new Date()).toISOString(),
  };
  return { ...unsigned, signature: signParts(args.secret, "parked", signedParts(unsigned)) };
}

function signedParts(req: {
  [K in Exclude<keyof ParkedRequest, "signature">]: unknown;
}): unknown[] {
  return [
    req.trackingId,
    req.idempotencyKey,
    req.principal,
    req.service,
    req.method,
    req.path,
    Object.entries(req.headers as Record<string, string>).sort(([a], [b]) => (a < b ? -1 : 1)),
    req.body,
    req.parkedAt,
  ];
}

/** Whether a gateway of this stack parked `req` as it is. */
export function verifyParked(req: ParkedRequest, secret: string): boolean {
  return verifyParts(secret, "parked", signedParts(req), req.signature);
}

/** `parked`: queued now; `duplicate`: the same request was queued before (same id); `conflict`: a different request already holds this key. */
export interface ParkResult {
  trackingId: string;
  status: "parked" | "duplicate" | "conflict";
}

/**
 * What a replay came to. `retry`: the service is still away (connection refused, 5xx, 408, 429),
 * try later. `poison`: the service refused the request itself (another 4xx) or the message is
 * unreadable; it is set aside, never dropped, and never sent again.
 */
export interface Delivery {
  outcome: "delivered" | "retry" | "poison";
  status?: number;
  reason?: string;
}

export type Deliver = (req: ParkedRequest) => Promise<Delivery>;

export interface ReplayerOptions {
  /** Back-off after a `retry`: base and cap in ms (equal jitter). Defaults 250 and 10000. */
  baseMs?: number;
  maxMs?: number;
  /** SQL store: how often an idle replayer looks for due messages. Default 500 ms. */
  pollMs?: number;
}

export interface PoisonEntry {
  /** Null when the message could not be parsed. */
  trackingId: string | null;
  service: string | null;
  reason: string;
  status: number | null;
  attempts: number;
  poisonedAt: string;
  request: ParkedRequest | null;
  /** The unparseable message as it was, when `request` is null. */
  raw: string | null;
}

export interface DeadLetterQueue {
  readonly kind: "kafka" | "sql";
  readonly domain: string;
  park(req: ParkedRequest): Promise<ParkResult>;
  /** Messages parked and not yet delivered nor poisoned. */
  depth(): Promise<number>;
  /** Replays in the background until the returned function is awaited. */
  startReplayer(deliver: Deliver, opts?: ReplayerOptions): () => Promise<void>;
  /** The most recent poison messages, newest first. */
  poison(limit?: number): Promise<PoisonEntry[]>;
  close(): Promise<void>;
}

/** The replay loops a store runs, so that closing the store stops every one of them. */
export class ReplayLoops {
  private readonly running = new Set<() => Promise<void>>();

  /** Registers a loop that aborting `stop` ends; returns the function that stops and awaits it. */
  track(stop: AbortController, loop: Promise<void>): () => Promise<void> {
    const stopLoop = async () => {
      stop.abort();
      await loop;
      this.running.delete(stopLoop);
    };
    this.running.add(stopLoop);
    return stopLoop;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.running].map((stopLoop) => stopLoop()));
  }
}

/** Equal jitter: the wait grows with each attempt but never drops to zero, so nothing spins. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

export interface DlqMetrics {
  parked: Counter<"service">;
  replayed: Counter<"service" | "outcome">;
}

export function dlqMetrics(
  registry: Registry,
  domain: string,
  depth: () => Promise<number>,
): DlqMetrics {
  new Gauge({
    name: "gateway_dlq_depth",
    help: "Writes parked in the dead-letter queue and not yet delivered or poisoned",
    labelNames: ["domain"] as const,
    registers: [registry],
    async collect() {
      // A store that cannot answer (soon) leaves the last value: a scrape must not fail or hang.
      let timer: NodeJS.Timeout | undefined;
      const value = await Promise.race([
        depth().catch(() => undefined),
        new Promise<undefined>((ok) => (timer = setTimeout(() => ok(undefined), 2_000))),
      ]);
      clearTimeout(timer);
      if (value !== undefined) this.set({ domain }, value);
    },
  });
  return {
    parked: new Counter({
      name: "gateway_dlq_parked_total",
      help: "Writes parked in the dead-letter queue (duplicates not counted)",
      labelNames: ["service"] as const,
      registers: [registry],
    }),
    replayed: new Counter({
      name: "gateway_dlq_replayed_total",
      help: "Replay attempts of parked writes, by outcome (delivered, retry, poison)",
      labelNames: ["service", "outcome"] as const,
      registers: [registry],
    }),
  };
}

export function parseParked(raw: string): ParkedRequest | undefined {
  try {
    const parsed = parkedRequestSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export async function safeDeliver(deliver: Deliver, req: ParkedRequest): Promise<Delivery> {
  try {
    return await deliver(req);
  } catch (err) {
    return { outcome: "retry", reason: (err as Error).message };
  }
}
