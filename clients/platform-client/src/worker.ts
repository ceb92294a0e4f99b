import { parentPort, workerData } from "node:worker_threads";
import { toWire } from "./errors.ts";
import { runTask, type FromWorker, type ToWorker } from "./protocol.ts";
import { handlers, WORKER_KINDS, type TaskContext, type WorkerKind } from "./tasks.ts";
import { Telemetry } from "./telemetry.ts";
import type { RetryPolicy } from "./retry.ts";
import { Transport } from "./transport.ts";

// One worker thread of one kind (pool.ts starts it): runs the tasks of its kind as the main
// thread sends them, with a connection pool of its own per origin, and answers each by id.

const { kind, retry } = workerData as { kind: WorkerKind; retry: Partial<RetryPolicy> };
const port = parentPort!;
const transport = new Transport(retry);
const telemetry = new Telemetry();
const mine = new Set<string>(WORKER_KINDS[kind]);

port.on("message", (m: ToWorker) => {
  if (m.type === "crash") {
    // The crash drill (pool.crash): an exception no task catches, as a bug would throw.
    setImmediate(() => {
      throw new Error(`${kind} worker crashed on purpose`);
    });
    return;
  }
  const { id, task, input, quiet } = m;
  if (!mine.has(task)) {
    if (id !== undefined)
      port.postMessage({
        type: "failed",
        id,
        error: toWire(new Error(`a ${kind} worker does not run ${task}`)),
      } satisfies FromWorker);
    return;
  }
  const post = (out: FromWorker) => port.postMessage(out);
  runTask(post, id, (emit) =>
    (handlers[task as keyof typeof handlers] as (i: unknown, c: TaskContext) => Promise<unknown>)(
      input,
      { http: transport, telemetry, emit: quiet ? () => undefined : emit },
    ),
  );
});
