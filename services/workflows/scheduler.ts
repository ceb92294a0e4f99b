import { CronExpressionParser } from "cron-parser";
import type { Job, PgBoss } from "pg-boss";
import { ApiError, badRequest, limitReached } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import type { Db } from "../shared/sql/db.ts";
import type { CreateSchedule } from "./contract.ts";
import { runInput } from "./definition.ts";
import { POLLING, inTransaction, queues, type Engine } from "./engine.ts";
import type { WorkflowMetrics } from "./metrics.ts";
import { definitionOf, type WorkflowStore } from "./store.ts";

// Schedules are pg-boss cron schedules (one per schedule, keyed by its id) beside our own row.
// pg-boss's cron pass runs on every replica and sends each occurrence's job once, however many
// replicas look (it records the occurrence under an advisory lock), and the job starts one run,
// keyed by the job's id, so a job delivered twice still starts one. Occurrences that came due
// while no replica ran follow the schedule's `missed` policy (pg-boss's: skip, or once for the
// latest). Minute precision: pg-boss checks for due occurrences at least every 30 s.

/** Refuses (400) a cron expression or time zone that cannot fire, naming the field. */
export function checkCron(input: Pick<CreateSchedule, "cron" | "timezone">): void {
  try {
    new Intl.DateTimeFormat("en", { timeZone: input.timezone });
  } catch {
    throw badRequest(
      "invalid_parameter",
      `timezone: "${input.timezone}" is not an IANA time zone (e.g. Europe/Paris)`,
      "timezone",
    );
  }
  const fields = input.cron.trim().split(/\s+/);
  if (fields.length !== 5)
    throw badRequest(
      "invalid_parameter",
      "cron: must have five fields (minute hour day-of-month month day-of-week)",
      "cron",
    );
  try {
    CronExpressionParser.parse(input.cron, { tz: input.timezone, strict: false }).next();
  } catch (err) {
    throw badRequest(
      "invalid_parameter",
      `cron: ${err instanceof Error ? err.message : String(err)}`,
      "cron",
    );
  }
}

export interface SchedulerArgs {
  store: WorkflowStore;
  boss: PgBoss;
  engine: Engine;
  logger: Logger;
  metrics: WorkflowMetrics;
  /** A firing while the owner has this many runs going is skipped (WorkflowLimits). */
  activeRuns: number;
}

export class Scheduler {
  private readonly a: SchedulerArgs;

  constructor(a: SchedulerArgs) {
    this.a = a;
  }

  async start(): Promise<void> {
    await this.a.boss.work<{ schedule: string }>(queues.fire, POLLING, ([job]) => this.fire(job!));
  }

  register(tx: Db, id: string, input: CreateSchedule): Promise<void> {
    return this.a.boss.schedule(
      queues.fire,
      input.cron,
      { schedule: id },
      { tz: input.timezone, key: id, missed: input.missed, db: inTransaction(tx) },
    );
  }

  unregister(tx: Db, id: string): Promise<void> {
    return this.a.boss.unschedule(queues.fire, id, { db: inTransaction(tx) });
  }

  private async fire(job: Job<{ schedule: string }>): Promise<void> {
    const { store, metrics } = this.a;
    const schedule = await store.scheduleToFire(job.data.schedule);
    if (!schedule) return;
    const triggerKey = `schedule:${job.id}`;
    if (await store.runOfTrigger(triggerKey))
      return void metrics.firings.inc({ outcome: "duplicate" });
    const workflow = await store.workflow(schedule.user_id, schedule.workflow_id);
    let input;
    try {
      if (!workflow) throw badRequest("workflow_not_found", `no workflow ${schedule.workflow_id}`);
      input = runInput(workflow, schedule.input);
      if ((await store.holdings(schedule.user_id)).active >= this.a.activeRuns)
        throw limitReached(
          "run_limit_reached",
          `its owner has ${this.a.activeRuns} runs going already`,
        );
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      metrics.firings.inc({ outcome: "refused" });
      this.a.logger.warn(
        { schedule: schedule.id, error: err.message },
        "schedule fired but its workflow cannot start",
      );
      return;
    }
    const due = CronExpressionParser.parse(schedule.cron, { tz: schedule.timezone }).prev();
    metrics.firingDelay.observe((Date.now() - due.getTime()) / 1000);
    try {
      await store.createRun(
        {
          userId: schedule.user_id,
          workflow: { id: workflow.id, definition: definitionOf(workflow) },
          input,
          credential: schedule.credential,
          trigger: { kind: "schedule", schedule_id: schedule.id },
          triggerKey,
        },
        async (tx, runId) => {
          await this.a.engine.sendStep(tx, runId, workflow.steps[0]!, 0);
          await store.recordFiring(tx, schedule.id);
        },
      );
    } catch (err) {
      // The same firing, started by another delivery of its job meanwhile.
      if ((err as { code?: string }).code === "23505")
        return void metrics.firings.inc({ outcome: "duplicate" });
      throw err;
    }
    metrics.firings.inc({ outcome: "started" });
  }
}
