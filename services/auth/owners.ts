import type { Logger } from "../shared/logger.ts";
import { sendToReplicas, type ReplicaSet } from "../shared/upstream.ts";

// A key's principal carries its owner's plan, and the plan lives in the user service. auth asks
// it at verification (the gateway then keeps the verdict VERDICT_FRESH_SECONDS), and keeps each
// answer `freshMs` itself. The plan recorded with the key is the fallback: for an owner the user
// service does not know (a key made before their record, like the demo key) and while the user
// service cannot be reached; auth updates it whenever the user service says otherwise.

export type Owner =
  | { kind: "found"; plan: string }
  /** No record: the key keeps the plan recorded with it. */
  | { kind: "unknown" }
  /** Deleted: the owner's keys stop working. */
  | { kind: "deleted" }
  | { kind: "unreachable" };

export interface Owners {
  lookup(userId: string, requestId: string): Promise<Owner>;
}

export function userOwners(opts: {
  user: ReplicaSet;
  logger: Logger;
  freshMs?: number;
  now?: () => number;
}): Owners {
  const freshMs = opts.freshMs ?? 5_000;
  const now = opts.now ?? Date.now;
  const kept = new Map<string, { owner: Owner; at: number }>();

  async function ask(userId: string, requestId: string): Promise<Owner> {
    try {
      const res = await sendToReplicas(opts.user, {
        method: "GET",
        path: `/internal/users/${encodeURIComponent(userId)}`,
        headers: { "x-request-id": requestId },
        retryable: true,
      });
      if (res.statusCode === 200) {
        const { plan } = (await res.body.json()) as { plan: string };
        return { kind: "found", plan };
      }
      await res.body.dump();
      // 400: an id the user service cannot hold (auth's ids are freer), so never a user of it.
      if (res.statusCode === 404 || res.statusCode === 400) return { kind: "unknown" };
      if (res.statusCode === 410) return { kind: "deleted" };
      opts.logger.warn({ status: res.statusCode, requestId }, "auth: user service failed");
    } catch (err) {
      opts.logger.warn({ err, requestId }, "auth: user service unreachable");
    }
    return { kind: "unreachable" };
  }

  return {
    async lookup(userId, requestId) {
      const entry = kept.get(userId);
      if (entry && now() - entry.at < freshMs) return entry.owner;
      const owner = await ask(userId, requestId);
      if (owner.kind !== "unreachable") {
        // Bounded: a burst of unknown user ids must not grow the map without end.
        if (kept.size >= 10_000) kept.clear();
        kept.set(userId, { owner, at: now() });
      }
      return owner;
    },
  };
}
