import { randomUUID } from "node:crypto";
import type { Logger } from "../shared/logger.ts";
import { PRINCIPAL_HEADER_PREFIX, principalHeaders, readPrincipal } from "../shared/principal.ts";
import { sendToReplicas, type ReplicaSet } from "../shared/upstream.ts";
import {
  verifyParked,
  type DeadLetterQueue,
  type Deliver,
  type Delivery,
  type ParkedRequest,
  type ReplayerOptions,
} from "./dlq.ts";

// The gateway's side of the dead-letter queue's replay: how a parked write is sent again to its
// service, and what the service's answer means for it.

export interface ReplayDeliveryArgs {
  /** The tier's replica sets by service name: the ones the proxy uses, so ejections are shared. */
  sets: ReadonlyMap<string, ReplicaSet>;
  /** Longest wait for the service's answer. Default 10 s. */
  timeoutMs?: number;
  /** PRINCIPAL_SECRET: checks what was parked (the sets, signed with it too, sign the replay). */
  secret: string;
}

const EXCERPT_BYTES = 500;

/** What a service's status means for a replayed write. */
export function classifyReplay(status: number, body: string): Delivery {
  if (status >= 200 && status < 300) return { outcome: "delivered", status };
  // Away, overloaded or slow: the same request may well succeed later.
  if (status === 408 || status === 429 || status >= 500)
    return { outcome: "retry", status, reason: `service answered ${status}` };
  // The service judged the request itself (400, 404, 409 for a key reused with another body...):
  // sending it again cannot help, and dropping it would lose it silently.
  return { outcome: "poison", status, reason: body.slice(0, EXCERPT_BYTES) };
}

/**
 * The replay's headers: the parked ones with the principal as parked (the call is signed anew as
 * it is sent, since the original signature's time has passed); undefined when the parked
 * principal is not the write's.
 */
function replayHeaders(req: ParkedRequest): Record<string, string> | undefined {
  const principal = readPrincipal(req.headers);
  if (principal?.userId !== req.principal) return undefined;
  const requestId = req.headers["x-request-id"] ?? randomUUID();
  const kept = Object.entries(req.headers).filter(([h]) => !h.startsWith(PRINCIPAL_HEADER_PREFIX));
  return {
    ...Object.fromEntries(kept),
    ...principalHeaders(principal),
    "x-request-id": requestId,
    // The original key, so the service answers a replay that raced its original as a repeat.
    "idempotency-key": req.idempotencyKey,
    "x-dlq-tracking-id": req.trackingId,
  };
}

/** Sends parked writes to the tier's services; give it to `DeadLetterQueue.startReplayer`. */
export function replayDelivery(args: ReplayDeliveryArgs): Deliver {
  const timeoutMs = args.timeoutMs ?? 10_000;
  return async (req) => {
    // Anything that can write to the queue's store could park a write: only a gateway's is sent.
    const headers = verifyParked(req, args.secret) ? replayHeaders(req) : undefined;
    if (!headers) return { outcome: "poison", reason: "not signed by a gateway of this stack" };
    const set = args.sets.get(req.service);
    if (!set) return { outcome: "poison", reason: `no service "${req.service}" in this tier` };
    // Every replica is ejected: wait for the ejections (or the health checks) instead of knocking.
    if (set.healthyCount() === 0) return { outcome: "retry", reason: "no healthy replica" };
    try {
      const up = await sendToReplicas(set, {
        method: req.method,
        path: req.path,
        headers,
        body: req.body ? Buffer.from(req.body, "base64") : undefined,
        retryable: true,
        signal: AbortSignal.timeout(timeoutMs),
      });
      return classifyReplay(up.statusCode, await up.body.text());
    } catch (err) {
      return { outcome: "retry", reason: (err as Error).message };
    }
  };
}

export interface StartReplayArgs extends ReplayDeliveryArgs {
  dlq: DeadLetterQueue;
  logger: Logger;
  /** Back-off and polling of the replayer (see `ReplayerOptions` for the defaults). */
  replay?: ReplayerOptions;
}

/** Replays the tier's parked writes in the background; the returned function stops it. */
export function startDlqReplay(args: StartReplayArgs): () => Promise<void> {
  const deliver = replayDelivery(args);
  return args.dlq.startReplayer(async (req) => {
    const d = await deliver(req);
    if (d.outcome === "delivered")
      args.logger.info(
        { trackingId: req.trackingId, service: req.service, status: d.status },
        "dlq: parked write delivered",
      );
    return d;
  }, args.replay);
}
