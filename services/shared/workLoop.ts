import type { Logger } from "./logger.ts";

// The loop every lease-based worker runs (training jobs, video steps, render scenes): take work
// while there is some, wait between looks when there is none, and keep a held lease alive.

export interface WorkLoop {
  /** Looks for work now rather than at the next poll (a request just queued some). */
  wake(): void;
  /** Stops: aborts the step in hand (`signal`) and waits for it to end. */
  stop(): Promise<void>;
}

/**
 * Runs `step` until stopped: again at once while it finds work (answers true), after `pollMs`
 * (or a `wake()`) when it finds none. A step that throws is logged and the loop goes on.
 */
export function startWorkLoop(
  name: string,
  pollMs: number,
  logger: Logger,
  step: (signal: AbortSignal) => Promise<boolean>,
): WorkLoop {
  const stop = new AbortController();
  let wakeUp: (() => void) | undefined;
  const sleep = (ms: number) =>
    new Promise<void>((ok) => {
      const timer = setTimeout(ok, ms);
      wakeUp = () => {
        clearTimeout(timer);
        ok();
      };
    });
  const loop = (async () => {
    while (!stop.signal.aborted) {
      let worked = false;
      try {
        worked = await step(stop.signal);
      } catch (err) {
        logger.error({ err }, `${name}: worker step failed`);
      }
      if (!worked && !stop.signal.aborted) await sleep(pollMs);
    }
  })();
  return {
    wake: () => wakeUp?.(),
    stop: async () => {
      stop.abort();
      wakeUp?.();
      await loop;
    },
  };
}

/**
 * Renews a held lease every third of its length until the returned function is called; a
 * renewal that fails is logged (the lease may still hold until the next one).
 */
export function keepLease(leaseMs: number, renew: () => Promise<unknown>, log: Logger): () => void {
  const timer = setInterval(
    () => {
      renew().catch((err: unknown) => log.warn({ err }, "lease renewal failed"));
    },
    Math.max(1, Math.floor(leaseMs / 3)),
  );
  return () => clearInterval(timer);
}
