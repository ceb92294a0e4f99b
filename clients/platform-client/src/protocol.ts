import { fromWire, toWire, type WireError } from "./errors.ts";

// The messages between a scheduling thread and its task workers, the same in Node's worker
// threads (pool.ts, worker.ts) and the console's Web Workers (browser/console.ts, worker.ts):
// a task goes out under an id, and its events and one outcome come back under that id.

export type ToWorker =
  { type: "task"; id?: number; task: string; input: unknown; quiet?: boolean } | { type: "crash" };
export type FromWorker =
  | { type: "event"; id: number; event: unknown }
  | { type: "done"; id: number; result: unknown }
  | { type: "failed"; id: number; error: WireError };

/** What the scheduling side keeps for a task until its outcome arrives. */
export interface Awaiting {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  onEvent?: ((e: unknown) => void) | undefined;
}

/**
 * Worker side: runs a task and posts its events and outcome under its id. A task sent without
 * an id (a one-way note) posts nothing back.
 */
export function runTask(
  post: (m: FromWorker) => void,
  id: number | undefined,
  run: (emit: (event: unknown) => void) => Promise<unknown>,
): void {
  const emit =
    id === undefined ? () => undefined : (event: unknown) => post({ type: "event", id, event });
  let work: Promise<unknown>;
  try {
    work = run(emit);
  } catch (err) {
    work = Promise.reject(err);
  }
  work.then(
    (result) => id !== undefined && post({ type: "done", id, result }),
    (err: unknown) => id !== undefined && post({ type: "failed", id, error: toWire(err) }),
  );
}

/** Scheduling side: hands one message to its task; true when that was the task's outcome. */
export function deliver(m: FromWorker, to: Awaiting): boolean {
  if (m.type === "event") {
    to.onEvent?.(m.event);
    return false;
  }
  if (m.type === "done") to.resolve(m.result);
  else to.reject(fromWire(m.error));
  return true;
}
