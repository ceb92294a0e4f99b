import type { PgBoss, Job, Db as BossDb } from "pg-boss";
import type { Bridge } from "../api/bridge.ts";
import { requestOf, type BridgedTool, type ToolArguments } from "../api/tools.ts";
import type { Logger } from "../shared/logger.ts";
import type { Db } from "../shared/sql/db.ts";
import { requestContext } from "../shared/trace.ts";
import type { Step } from "./contract.ts";
import type { CredentialVault } from "./credentials.ts";
import type { WorkflowMetrics } from "./metrics.ts";
import type { RunRecord, WorkflowStore } from "./store.ts";
import { MissingValue, holds, resolve, type Scope } from "./templates.ts";

// Runs are durable because every step is a pg-boss job in the service's own PostgreSQL schema,
// sent in the same transaction that records the step before it. A replica that dies mid-step
// holds its job only until the job's expiry; pg-boss then hands it to another replica, which
// reads the run's rows and carries on from the last step recorded as done. A call step presents
// an idempotency key of the run and step (`wf-<run>-<step>`) wherever its operation takes one, so
// that a call made again after a crash is not made twice. pg-boss's retries (with backoff) are
// the step's retries; a job whose retries a crash or expiry used up lands on the lost queue,
// which fails the step visibly. A failed run compensates its finished steps, newest first.

export const queues = {
  step: "workflow-step",
  /** pg-boss's dead letters of `step`: a job whose worker was lost more often than allowed. */
  lost: "workflow-step-lost",
  compensate: "workflow-compensate",
  /** Each schedule's firings (pg-boss's cron). */
  fire: "workflow-fire",
} as const;

/** Retries beyond a step's own that lost workers (a crash, a timeout) may take from it. */
const LOST_ALLOWANCE = 3;
/** Retries of a compensation job before a failing compensation is given up as failed. */
const COMPENSATION_RETRIES = 5;
/** A job's expiry beyond the step's time-out, for the write that records the step's result. */
const EXPIRY_MARGIN_SECONDS = 5;

/**
 * NOTIFY announces new jobs only: a retry after its backoff, or a wait step's second delivery,
 * becomes due without one, and is found by polling. pg-boss polls every 30 s while NOTIFY works;
 * once a second keeps a retry or a wait within a second of its time.
 */
export const POLLING = { batchSize: 1, pollingIntervalSeconds: 1, notifyPollingIntervalSeconds: 1 };

interface StepJob {
  run: string;
  step: number;
  /** The second delivery of a wait step, once its time has passed. */
  waited?: boolean;
  /** A polling call's next call (`until`). */
  poll?: boolean;
}

export interface EngineArgs {
  store: WorkflowStore;
  boss: PgBoss;
  bridge: Pick<Bridge, "send">;
  tools: ReadonlyMap<string, BridgedTool>;
  vault: CredentialVault;
  logger: Logger;
  metrics: WorkflowMetrics;
  /** Step jobs one replica runs at once. */
  concurrency: number;
}

/** pg-boss's statements on one of our transactions, so that a job is sent with what it follows. */
export const inTransaction = (tx: Db): BossDb => ({
  executeSql: async (text, values) => ({ rows: await tx.query(text, values ?? []) }),
});

/** The run's failure or timeout that ends a step for good. */
class StepFailed extends Error {}

export class Engine {
  private readonly a: EngineArgs;

  constructor(a: EngineArgs) {
    this.a = a;
  }

  async start(): Promise<void> {
    const { boss } = this.a;
    // NOTIFY wakes a waiting worker at once: a step starts within milliseconds of the last one.
    await boss.createQueue(queues.lost, { notify: true });
    await boss.createQueue(queues.step, { deadLetter: queues.lost, notify: true });
    await boss.createQueue(queues.compensate, { notify: true });
    await boss.createQueue(queues.fire, { notify: true });
    await boss.work<StepJob>(
      queues.step,
      { ...POLLING, localConcurrency: this.a.concurrency },
      ([job]) => this.runStep(job!),
    );
    await boss.work<StepJob>(queues.lost, POLLING, ([job]) => this.lost(job!));
    await boss.work<{ run: string }>(queues.compensate, POLLING, ([job]) => this.compensate(job!));
  }

  /** Sends step `idx` of a run; `tx` is the transaction that records what the step follows. */
  async sendStep(
    tx: Db,
    runId: string,
    step: Step,
    idx: number,
    after?: { seconds: number; waited?: true; poll?: true },
  ): Promise<void> {
    const attempts = step.retry?.attempts ?? 1;
    const { seconds, ...again } = after ?? {};
    await this.a.boss.send(
      queues.step,
      { run: runId, step: idx, ...again },
      {
        db: inTransaction(tx),
        retryLimit: attempts - 1 + LOST_ALLOWANCE,
        retryDelay: step.retry?.backoff_seconds ?? 1,
        retryBackoff: true,
        expireInSeconds: step.timeout_seconds + EXPIRY_MARGIN_SECONDS,
        ...(seconds !== undefined ? { startAfter: seconds } : {}),
      },
    );
  }

  private async runStep(job: Job<StepJob>): Promise<void> {
    const { store } = this.a;
    const { run: runId, step: idx } = job.data;
    const rec = await store.record(store.db, runId);
    if (!rec || rec.run.status !== "running") return;
    const state = rec.steps[idx]!;
    // Recorded before a crash: the job that follows it was sent in the same transaction.
    if (state.status === "succeeded" || state.status === "skipped") return;
    if (state.status === "waiting" && !job.data.waited && !job.data.poll) return;
    const step = rec.run.definition.steps[idx]!;
    const scope = scopeOf(rec);
    const started = Date.now();
    try {
      if (job.data.waited) return await this.finish(rec, idx, "succeeded", null);
      if (step.if && !holds(step.if, scope)) return await this.finish(rec, idx, "skipped", null);
      if (step.wait_seconds !== undefined) {
        await store.db.transaction(async (tx) => {
          await store.updateStep(tx, runId, idx, { status: "waiting", started: true });
          await this.sendStep(tx, runId, step, idx, {
            seconds: step.wait_seconds!,
            waited: true,
          });
        });
        return;
      }
      if (step.assert) {
        const broken = step.assert.find((c) => !holds(c, scope));
        if (broken)
          throw new StepFailed(
            step.message ?? `assertion ${JSON.stringify(broken.value)} ${broken.op} did not hold`,
          );
        return await this.finish(rec, idx, "succeeded", null);
      }
      await store.updateStep(store.db, runId, idx, {
        status: "running",
        attempt: true,
        started: true,
      });
      const output = await this.call(rec, step.call!, step.args ?? {}, scope, {
        key: `wf-${runId}-${step.name}`,
        timeoutSeconds: step.timeout_seconds,
      });
      this.a.metrics.stepSeconds.observe({ outcome: "succeeded" }, (Date.now() - started) / 1000);
      if (step.until && !untilHolds(step, scope, output)) {
        if (state.attempts + 1 >= step.poll_attempts)
          throw new StepFailed(`until did not hold after ${state.attempts + 1} calls`);
        await store.db.transaction(async (tx) => {
          await store.updateStep(tx, runId, idx, { status: "waiting", output });
          await this.sendStep(tx, runId, step, idx, { seconds: step.poll_seconds, poll: true });
        });
        return;
      }
      await this.finish(rec, idx, "succeeded", output);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (err instanceof StepFailed || err instanceof MissingValue)
        return this.fail(rec, idx, message);
      // A transient failure (5xx, 429, a time-out, no replica): retried until the step's attempts
      // are spent, with pg-boss's backoff between them.
      const failures = state.failures + 1;
      await store.updateStep(store.db, runId, idx, { failure: true, error: message });
      this.a.metrics.stepSeconds.observe({ outcome: "retried" }, (Date.now() - started) / 1000);
      if (failures >= (step.retry?.attempts ?? 1))
        return this.fail(rec, idx, `${message} (after ${failures} attempts)`);
      throw err;
    }
  }

  /**
   * Calls `call` as the run's owner and answers its JSON (or text); a refusal (4xx but 408 and
   * 429) is a StepFailed, anything else an Error worth retrying.
   */
  private async call(
    rec: RunRecord,
    call: string,
    args: ToolArguments,
    scope: Scope,
    opts: { key: string; timeoutSeconds: number },
  ): Promise<unknown> {
    const tool = this.a.tools.get(call);
    if (!tool) throw new StepFailed(`${call} is no longer an operation of the platform`);
    const authorization = rec.run.credential && this.a.vault.open(rec.run.credential);
    if (!authorization)
      throw new StepFailed(
        "the run's stored credential cannot be read (the stack's signing secret changed since it was stored)",
      );
    const request = requestOf(tool, resolve(args, scope) as ToolArguments);
    const takesKey = Object.keys(tool.operation.headers ?? {}).some(
      (h) => h.toLowerCase() === "idempotency-key",
    );
    if (takesKey && request.headers["idempotency-key"] === undefined)
      request.headers["idempotency-key"] = opts.key;
    const ctx = requestContext({ "x-request-id": opts.key });
    const res = await this.a.bridge.send(
      request,
      { authorization },
      ctx,
      AbortSignal.timeout(opts.timeoutSeconds * 1000),
    );
    const text = await res.body.text();
    let body: unknown = text;
    try {
      body = text === "" ? null : JSON.parse(text);
    } catch {
      // Not JSON (a file's bytes, an event stream): the step's output is the text.
    }
    if (res.statusCode < 300) return body;
    const apiMessage =
      (body as { error?: { message?: string } } | null)?.error?.message ?? text.slice(0, 300);
    const message = `${call} answered ${res.statusCode}: ${apiMessage}`;
    const refused = res.statusCode < 500 && res.statusCode !== 408 && res.statusCode !== 429;
    throw refused ? new StepFailed(message) : new Error(message);
  }

  /** Records a step's end and sends the next step, or ends the run after the last one. */
  private async finish(
    rec: RunRecord,
    idx: number,
    status: "succeeded" | "skipped",
    output: unknown,
  ): Promise<void> {
    const { store } = this.a;
    const runId = rec.run.id;
    const steps = rec.run.definition.steps;
    const ended = await store.db.transaction(async (tx) => {
      const now = await store.record(tx, runId, true);
      // Two deliveries of one step (a worker slower than the job's expiry, not dead) both get
      // here: the first sends the next step, the second must not send it again.
      const before = now?.steps[idx]?.status;
      if (before === "succeeded" || before === "skipped") return false;
      // A run cancelled meanwhile still learns what the step did, for its compensation.
      await store.updateStep(tx, runId, idx, { status, output, started: true, finished: true });
      if (now?.run.status !== "running") return false;
      if (idx + 1 < steps.length) {
        await this.sendStep(tx, runId, steps[idx + 1]!, idx + 1);
        return false;
      }
      await store.setRunStatus(tx, runId, "succeeded");
      return true;
    });
    this.a.metrics.steps.inc({ outcome: status });
    if (ended) this.a.metrics.runs.inc({ outcome: "succeeded" });
  }

  /** Fails the step for good; the run compensates what its finished steps did. */
  private async fail(rec: RunRecord, idx: number, message: string): Promise<void> {
    const { store } = this.a;
    const runId = rec.run.id;
    const name = rec.run.definition.steps[idx]!.name;
    await store.db.transaction(async (tx) => {
      const now = await store.record(tx, runId, true);
      await store.updateStep(tx, runId, idx, { status: "failed", error: message, finished: true });
      if (now?.run.status !== "running") return;
      await store.setRunStatus(tx, runId, "compensating", `step ${name}: ${message}`);
      await this.a.boss.send(queues.compensate, { run: runId }, { db: inTransaction(tx) });
    });
    this.a.metrics.steps.inc({ outcome: "failed" });
    this.a.logger.warn({ run: runId, step: name, error: message }, "workflow step failed");
  }

  /** A step job whose retries lost workers used up: it failed without an answer. */
  private async lost(job: Job<StepJob>): Promise<void> {
    const rec = await this.a.store.record(this.a.store.db, job.data.run);
    const state = rec?.steps[job.data.step];
    if (!rec || !state || ["succeeded", "skipped", "failed"].includes(state.status)) return;
    await this.fail(
      rec,
      job.data.step,
      `no answer: the step timed out or lost its worker ${job.retryCount + 1} times${
        state.error ? ` (last error: ${state.error})` : ""
      }`,
    );
  }

  /** Stops a running run after its current step, and compensates what it did. */
  async cancel(runId: string): Promise<boolean> {
    const { store } = this.a;
    return store.db.transaction(async (tx) => {
      const rec = await store.record(tx, runId, true);
      if (rec?.run.status !== "running") return false;
      await store.setRunStatus(tx, runId, "compensating", "cancelled by its owner", true);
      await this.a.boss.send(queues.compensate, { run: runId }, { db: inTransaction(tx) });
      return true;
    });
  }

  private async compensate(job: Job<{ run: string }>): Promise<void> {
    const { store } = this.a;
    const rec = await store.record(store.db, job.data.run);
    if (rec?.run.status !== "compensating") return;
    const runId = rec.run.id;
    // A step still calling may yet succeed: wait (through retries) until it has an outcome.
    if (rec.steps.some((s) => s.status === "running") && job.retryCount < COMPENSATION_RETRIES)
      throw new Error("a step of the run is still running");
    const scope = scopeOf(rec);
    const steps = rec.run.definition.steps;
    for (const state of [...rec.steps].reverse()) {
      const undo = steps[state.idx]!.compensate;
      if (state.status !== "succeeded" || !undo) continue;
      try {
        await this.call(rec, undo.call, undo.args, scope, {
          key: `wf-${runId}-${state.name}-undo`,
          timeoutSeconds: steps[state.idx]!.timeout_seconds,
        });
        await store.updateStep(store.db, runId, state.idx, { status: "compensated" });
      } catch (err) {
        const message = `compensation: ${err instanceof Error ? err.message : String(err)}`;
        const last = err instanceof StepFailed || job.retryCount >= COMPENSATION_RETRIES;
        await store.updateStep(store.db, runId, state.idx, {
          error: message,
          ...(last ? { status: "compensation_failed" as const } : {}),
        });
        if (!last) throw err;
      }
    }
    const outcome = rec.run.cancel_requested ? "cancelled" : "failed";
    await store.setRunStatus(store.db, runId, outcome);
    this.a.metrics.runs.inc({ outcome });
  }
}

/** Whether a polling step's answer is the one it waits for. */
function untilHolds(step: Step, scope: Scope, output: unknown): boolean {
  const own = { ...scope, steps: { ...scope.steps, [step.name]: { output } } };
  return step.until!.every((c) => holds(c, own));
}

/** What the templates of a run's next step may read. */
function scopeOf(rec: RunRecord): Scope {
  const steps: Scope["steps"] = {};
  for (const s of rec.steps)
    if (s.status === "succeeded" || s.status === "skipped" || s.status === "compensated")
      steps[s.name] = { output: s.output ?? null, status: s.status };
  return { input: rec.run.input, steps, run: { id: rec.run.id } };
}
