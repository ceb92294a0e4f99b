import { handlers, type TaskContext, type TaskName, type TaskTypes } from "./tasks.ts";
import { Telemetry } from "./telemetry.ts";
import type { RetryPolicy } from "./retry.ts";
import { Transport } from "./transport.ts";

// Where the task functions run. The client schedules through this interface alone: the worker
// pool (pool.ts) runs each kind in threads of its own; `InlineExecutor` runs them on the
// caller's thread, the same functions, for the side-by-side benchmark and for small scripts.

export interface Executor {
  run<T extends TaskName>(
    task: T,
    input: TaskTypes[T]["input"],
    onEvent?: (event: TaskTypes[T]["event"]) => void,
  ): Promise<TaskTypes[T]["result"]>;
  /** Fire and forget (telemetry): no answer is awaited. */
  note<T extends TaskName>(task: T, input: TaskTypes[T]["input"]): void;
  close(): Promise<void>;
}

export class InlineExecutor implements Executor {
  private readonly transport: Transport;
  private readonly telemetry = new Telemetry();

  constructor(retry: Partial<RetryPolicy> = {}) {
    this.transport = new Transport(retry);
  }

  run<T extends TaskName>(
    task: T,
    input: TaskTypes[T]["input"],
    onEvent?: (event: TaskTypes[T]["event"]) => void,
  ): Promise<TaskTypes[T]["result"]> {
    const ctx: TaskContext = {
      http: this.transport,
      telemetry: this.telemetry,
      emit: (e) => onEvent?.(e as TaskTypes[T]["event"]),
    };
    return (handlers[task] as (i: typeof input, c: TaskContext) => Promise<TaskTypes[T]["result"]>)(
      input,
      ctx,
    );
  }

  note<T extends TaskName>(task: T, input: TaskTypes[T]["input"]): void {
    void this.run(task, input).catch(() => undefined);
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}
