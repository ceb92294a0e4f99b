import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { WorkerCrashedError } from "./errors.ts";
import { deliver, type FromWorker, type ToWorker } from "./protocol.ts";
import type { Executor } from "./executor.ts";
import { kindOf, WORKER_KINDS, type TaskName, type TaskTypes, type WorkerKind } from "./tasks.ts";
import { repeatable, type RetryPolicy } from "./retry.ts";

// The worker threads: each kind of task function (tasks.ts) in threads of its own kind, so the
// caller's thread only schedules tasks and delivers what they report. A thread that dies is
// replaced at once; of the tasks it was running, those that are safe to run again are, once,
// and the others fail with a WorkerCrashedError that says why they were not. Tasks on the other
// threads never notice.

export interface PoolOptions {
  /** Threads of each kind. Default: requests and streams as many as the cores, others one. */
  threads?: Partial<Record<WorkerKind, number>>;
  retry?: Partial<RetryPolicy>;
}

interface Pending {
  id: number;
  task: TaskName;
  input: unknown;
  onEvent: ((e: unknown) => void) | undefined;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  events: number;
  crashes: number;
}

interface Slot {
  kind: WorkerKind;
  index: number;
  worker: Worker;
  running: Map<number, Pending>;
  lastError?: Error;
}

/** Why a task cannot run again after its thread died, or undefined when it can. */
function notRepeatable(p: Pending): string | undefined {
  if (p.crashes > 1) return "it was already retried once after a crash";
  switch (p.task) {
    case "send": {
      const i = p.input as TaskTypes["send"]["input"];
      return repeatable(i.method, i.idempotencyKey)
        ? undefined
        : `${i.method} ${i.path} has no Idempotency-Key and may have been done`;
    }
    case "chat":
      if (p.events > 0) return "part of the answer was already delivered";
      if ((p.input as TaskTypes["chat"]["input"]).conversationId)
        return "the conversation may already hold the message";
      return undefined;
    case "upload":
      return p.events > 0 ? "its bytes were already sent, and the file may be stored" : undefined;
    case "rotateKey":
      return "a new key may already have been made";
    default:
      return undefined;
  }
}

export class WorkerPool implements Executor {
  private readonly slots: Slot[] = [];
  private readonly retry: Partial<RetryPolicy>;
  private nextId = 1;
  private closing = false;
  /** Threads replaced after a crash, by kind. */
  readonly replaced: Record<string, number> = {};

  constructor(opts: PoolOptions = {}) {
    this.retry = opts.retry ?? {};
    const cores = availableParallelism();
    const counts: Record<WorkerKind, number> = {
      requests: cores,
      streams: cores,
      uploads: 1,
      sessions: 1,
      telemetry: 1,
      ...opts.threads,
    };
    for (const kind of Object.keys(WORKER_KINDS) as WorkerKind[])
      for (let i = 0; i < counts[kind]; i++) this.slots.push(this.start(kind, i));
  }

  private start(kind: WorkerKind, index: number): Slot {
    // From the sources here, from the built package (dist/) when installed from npm.
    const file = import.meta.url.endsWith(".ts") ? "./worker.ts" : "./worker.js";
    const worker = new Worker(new URL(file, import.meta.url), {
      workerData: { kind, retry: this.retry },
      name: `platform-client ${kind} ${index}`,
    });
    const slot: Slot = { kind, index, worker, running: new Map() };
    worker.on("message", (m: FromWorker) => this.receive(slot, m));
    worker.on("error", (err) => (slot.lastError = err));
    worker.on("exit", (code) => this.exited(slot, code));
    // An idle thread does not keep the process alive (a caller who never closes still exits);
    // after the listeners, since adding a "message" listener refs the thread again.
    worker.unref();
    return slot;
  }

  private receive(slot: Slot, m: FromWorker): void {
    const p = slot.running.get(m.id);
    if (!p) return;
    if (m.type === "event") p.events++;
    else this.finish(slot, p);
    deliver(m, p);
  }

  private finish(slot: Slot, p: Pending): void {
    slot.running.delete(p.id);
    if (slot.running.size === 0) slot.worker.unref();
  }

  private exited(slot: Slot, code: number): void {
    const at = this.slots.indexOf(slot);
    if (this.closing || at === -1) return;
    const reason = slot.lastError?.message ?? `exit code ${code}`;
    const fresh = this.start(slot.kind, slot.index);
    this.slots[at] = fresh;
    this.replaced[slot.kind] = (this.replaced[slot.kind] ?? 0) + 1;
    for (const p of slot.running.values()) {
      p.crashes++;
      const no = notRepeatable(p);
      if (no) {
        p.reject(
          new WorkerCrashedError(
            slot.kind,
            `the ${slot.kind} thread running ${p.task} crashed (${reason}); not retried: ${no}`,
          ),
        );
      } else {
        p.events = 0;
        this.dispatch(p);
      }
    }
    slot.running.clear();
  }

  private dispatch(p: Pending): void {
    const kind = kindOf(p.task);
    let best: Slot | undefined;
    for (const s of this.slots)
      if (s.kind === kind && (!best || s.running.size < best.running.size)) best = s;
    if (!best) {
      p.reject(new Error(`this pool has no ${kind} thread`));
      return;
    }
    best.running.set(p.id, p);
    best.worker.ref();
    // A chat whose caller takes no deltas sends none across: a message per piece of text is
    // most of what the caller's thread would otherwise do. Uploads always report, as the crash
    // rule needs to know whether bytes went out.
    const quiet = p.onEvent === undefined && p.task === "chat";
    best.worker.postMessage({
      type: "task",
      id: p.id,
      task: p.task,
      input: p.input,
      quiet,
    } satisfies ToWorker);
  }

  run<T extends TaskName>(
    task: T,
    input: TaskTypes[T]["input"],
    onEvent?: (event: TaskTypes[T]["event"]) => void,
  ): Promise<TaskTypes[T]["result"]> {
    if (this.closing) return Promise.reject(new Error("the client is closed"));
    return new Promise((resolve, reject) =>
      this.dispatch({
        id: this.nextId++,
        task,
        input,
        onEvent: onEvent as ((e: unknown) => void) | undefined,
        resolve: resolve as (v: unknown) => void,
        reject,
        events: 0,
        crashes: 0,
      }),
    );
  }

  note<T extends TaskName>(task: T, input: TaskTypes[T]["input"]): void {
    const slot = this.slots.find((s) => s.kind === kindOf(task));
    slot?.worker.postMessage({ type: "task", task, input } satisfies ToWorker);
  }

  /** Threads by kind, and the tasks each runs now. */
  threads(): { kind: WorkerKind; index: number; running: number; threadId: number }[] {
    return this.slots.map((s) => ({
      kind: s.kind,
      index: s.index,
      running: s.running.size,
      threadId: s.worker.threadId,
    }));
  }

  /** The crash drill: the thread throws an exception nothing catches, as a bug would. */
  crash(kind: WorkerKind, index = 0): void {
    const slot = this.slots.find((s) => s.kind === kind && s.index === index);
    if (!slot) throw new Error(`no ${kind} thread ${index}`);
    slot.worker.postMessage({ type: "crash" } satisfies ToWorker);
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const s of this.slots)
      for (const p of s.running.values()) p.reject(new Error("the client was closed"));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }
}
