import { z } from "zod";
import type { Logger } from "../shared/logger.ts";
import type { AuthCall } from "./auth.ts";

// A revoked key stops working within one poll of every gateway, not when the verdicts the
// gateways keep on it expire (VERDICT_FRESH_SECONDS): each replica asks the auth service (or the
// tier that hosts it, which asks the auth service in turn) for the keys revoked since its last
// ask, and forgets its verdicts on them, in memory and in the tier's store. A poll that fails
// changes nothing: the verdicts' freshness still bounds how long a revoked key is believed.

/** How often each gateway replica asks. */
export const REVOCATION_POLL_MS = 2_000;

const answerSchema = z.object({
  revoked: z.array(z.string().regex(/^[0-9a-f]{64}$/)),
  until: z.iso.datetime(),
});
export type RevocationsAnswer = z.infer<typeof answerSchema>;

/** One ask: the hashes of the keys revoked since `since` (the auth service's first look back). */
export async function askRevocations(
  call: AuthCall,
  since: string | undefined,
  requestId: string,
): Promise<RevocationsAnswer> {
  const answer = await call({
    path: "/internal/revocations",
    headers: { "content-type": "application/json", "x-request-id": requestId },
    body: Buffer.from(JSON.stringify(since === undefined ? {} : { since })),
  });
  const text = await answer.body.text();
  if (answer.statusCode !== 200)
    throw new Error(`revocations answered ${answer.statusCode}: ${text.slice(0, 200)}`);
  return answerSchema.parse(JSON.parse(text));
}

export interface RevocationFollowerArgs {
  call: AuthCall;
  /** Forgets what is kept on these keys (the verifier's `forget`). */
  forget: (hashes: string[]) => Promise<void>;
  logger: Logger;
  intervalMs?: number;
}

/** Asks every `intervalMs` until stopped; one ask at a time. */
export function followRevocations(args: RevocationFollowerArgs): {
  /** One ask now (tests, and the first one at start). */
  poll(): Promise<void>;
  stop(): void;
} {
  let since: string | undefined;
  let failing = false;
  let running: Promise<void> | undefined;
  const poll = () =>
    (running ??= (async () => {
      try {
        const answer = await askRevocations(args.call, since, `revocations-${Date.now()}`);
        if (answer.revoked.length > 0) await args.forget(answer.revoked);
        since = answer.until;
        if (failing) args.logger.info("following key revocations again");
        failing = false;
      } catch (err) {
        // Said once per outage, not every two seconds.
        if (!failing) args.logger.warn({ err }, "cannot follow key revocations; retrying");
        failing = true;
      } finally {
        running = undefined;
      }
    })());
  const timer = setInterval(() => void poll(), args.intervalMs ?? REVOCATION_POLL_MS);
  timer.unref();
  void poll();
  return { poll, stop: () => clearInterval(timer) };
}
