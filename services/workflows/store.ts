import { createOnce, type CreateResult, type Idempotency } from "../shared/idempotency.ts";
import { newId } from "../shared/ids.ts";
import { ownedPage, type Page } from "../shared/pagination.ts";
import type { Db } from "../shared/sql/db.ts";
import type {
  CreateSchedule,
  Definition,
  Run,
  RunStatus,
  Schedule,
  StepState,
  StepStatus,
  Workflow,
} from "./contract.ts";

// The workflow service's tables, in its own PostgreSQL schema beside pg-boss's (engine.ts): the
// definitions, each run with one row per step (its state, attempts, output and timing), and the
// schedules. A run keeps its definition as it was when the run started.

export const migrations = [
  `
CREATE TABLE definitions (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  name TEXT NOT NULL,
  definition JSONB NOT NULL,
  idempotency_key TEXT,
  request_hash TEXT,
  created_at BIGINT NOT NULL,
  UNIQUE (user_id, idempotency_key)
);
CREATE INDEX definitions_user ON definitions (user_id, id);
CREATE TABLE runs (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  workflow_id TEXT NOT NULL REFERENCES definitions (id),
  definition JSONB NOT NULL,
  status TEXT NOT NULL,
  cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
  input JSONB NOT NULL,
  trigger JSONB NOT NULL,
  trigger_key TEXT UNIQUE,
  credential TEXT,
  error TEXT,
  idempotency_key TEXT,
  request_hash TEXT,
  created_at BIGINT NOT NULL,
  finished_at BIGINT,
  UNIQUE (user_id, idempotency_key)
);
CREATE INDEX runs_user ON runs (user_id, id);
CREATE INDEX runs_status ON runs (status);
CREATE TABLE run_steps (
  run_id TEXT NOT NULL REFERENCES runs (id),
  idx INTEGER NOT NULL,
  name TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  failures INTEGER NOT NULL DEFAULT 0,
  output JSONB,
  error TEXT,
  started_at BIGINT,
  finished_at BIGINT,
  PRIMARY KEY (run_id, idx)
);
CREATE TABLE schedules (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  workflow_id TEXT NOT NULL REFERENCES definitions (id),
  cron TEXT NOT NULL,
  timezone TEXT NOT NULL,
  missed TEXT NOT NULL,
  input JSONB NOT NULL,
  credential TEXT NOT NULL,
  fired INTEGER NOT NULL DEFAULT 0,
  last_fired_at BIGINT,
  created_at BIGINT NOT NULL
);
CREATE INDEX schedules_user ON schedules (user_id, id);
`,
];

export type { Schedule, Workflow };

/** The definition a workflow was created from. */
export const definitionOf = (w: Workflow): Definition => ({
  name: w.name,
  ...(w.description !== null ? { description: w.description } : {}),
  inputs: w.inputs,
  steps: w.steps,
});

interface DefinitionRow {
  id: string;
  user_id: string;
  definition: Definition;
  request_hash: string | null;
  created_at: string | number;
}

interface RunRow {
  id: string;
  user_id: string;
  workflow_id: string;
  definition: Definition;
  status: RunStatus;
  cancel_requested: boolean;
  input: Record<string, unknown>;
  trigger: Run["trigger"];
  credential: string | null;
  error: string | null;
  request_hash: string | null;
  created_at: string | number;
  finished_at: string | number | null;
}

interface StepRow {
  run_id: string;
  idx: number;
  name: string;
  status: StepStatus;
  attempts: number;
  failures: number;
  output: unknown;
  error: string | null;
  started_at: string | number | null;
  finished_at: string | number | null;
}

interface ScheduleRow {
  id: string;
  user_id: string;
  workflow_id: string;
  cron: string;
  timezone: string;
  missed: CreateSchedule["missed"];
  input: Record<string, unknown>;
  credential: string;
  fired: number;
  last_fired_at: string | number | null;
  created_at: string | number;
}

const ms = (v: string | number | null) => (v === null ? null : Number(v));

const toWorkflow = (r: DefinitionRow): Workflow => ({
  id: r.id,
  object: "workflow",
  name: r.definition.name,
  description: r.definition.description ?? null,
  inputs: r.definition.inputs,
  steps: r.definition.steps,
  created_at: Number(r.created_at),
});

const toStep = (r: StepRow): StepState => ({
  name: r.name,
  status: r.status,
  attempts: r.attempts,
  output: r.output ?? null,
  error: r.error,
  started_at: ms(r.started_at),
  finished_at: ms(r.finished_at),
  duration_ms:
    r.started_at !== null && r.finished_at !== null
      ? Number(r.finished_at) - Number(r.started_at)
      : null,
});

const toRun = (r: RunRow, steps: StepRow[]): Run => ({
  id: r.id,
  object: "workflow.run",
  workflow_id: r.workflow_id,
  status: r.status,
  trigger: r.trigger,
  input: r.input,
  steps: steps.sort((a, b) => a.idx - b.idx).map(toStep),
  error: r.error,
  created_at: Number(r.created_at),
  finished_at: ms(r.finished_at),
});

const toSchedule = (r: ScheduleRow): Schedule => ({
  id: r.id,
  object: "workflow.schedule",
  workflow_id: r.workflow_id,
  cron: r.cron,
  timezone: r.timezone,
  missed: r.missed,
  input: r.input,
  fired: r.fired,
  last_fired_at: ms(r.last_fired_at),
  created_at: Number(r.created_at),
});

/** A run as the engine works on it: the definition, the input, each step's row. */
export interface RunRecord {
  run: RunRow;
  steps: StepRow[];
}

export interface NewRun {
  userId: string;
  workflow: { id: string; definition: Definition };
  input: Record<string, unknown>;
  credential: string;
  trigger: Run["trigger"];
  /** One run per trigger: a schedule's firing, delivered twice, starts one run. */
  triggerKey?: string;
  idempotency?: Idempotency;
}

export function workflowStore(db: Db, now: () => number = Date.now) {
  const stepsOf = (tx: Db, runIds: string[]) =>
    tx.query<StepRow>("SELECT * FROM run_steps WHERE run_id = ANY($1)", [runIds]);

  const withSteps = async (tx: Db, rows: RunRow[]): Promise<Run[]> => {
    const steps = await stepsOf(
      tx,
      rows.map((r) => r.id),
    );
    return rows.map((r) =>
      toRun(
        r,
        steps.filter((s) => s.run_id === r.id),
      ),
    );
  };

  return {
    db,

    createWorkflow(
      userId: string,
      definition: Definition,
      idempotency?: Idempotency,
    ): Promise<CreateResult<Workflow>> {
      return createOnce<DefinitionRow, Workflow>(db, {
        table: "definitions",
        owner: userId,
        idempotency,
        toValue: toWorkflow,
        create: async (tx) => {
          const [row] = await tx.query<DefinitionRow>(
            `INSERT INTO definitions (id, user_id, name, definition, idempotency_key, request_hash, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
            [
              newId("wf"),
              userId,
              definition.name,
              JSON.stringify(definition),
              idempotency?.key ?? null,
              idempotency?.requestHash ?? null,
              now(),
            ],
          );
          return toWorkflow(row!);
        },
      });
    },

    async workflow(userId: string, id: string): Promise<Workflow | undefined> {
      const [row] = await db.query<DefinitionRow>(
        "SELECT * FROM definitions WHERE id = $1 AND user_id = $2",
        [id, userId],
      );
      return row && toWorkflow(row);
    },

    listWorkflows(
      userId: string,
      page: { limit: number; after?: string },
    ): Promise<Page<Workflow>> {
      return ownedPage(db, "definitions", userId, page, toWorkflow);
    },

    /**
     * Inserts the run and its pending steps; `enqueue` sends its first step's job in the same
     * transaction, so a run is never stored without the job that starts it, nor the reverse.
     */
    createRun(run: NewRun, enqueue: (tx: Db, runId: string) => Promise<void>) {
      return createOnce<RunRow, string>(db, {
        table: "runs",
        owner: run.userId,
        idempotency: run.idempotency,
        toValue: (r) => r.id,
        create: async (tx) => {
          const id = newId("wfrun");
          await tx.query(
            `INSERT INTO runs (id, user_id, workflow_id, definition, status, input, trigger, trigger_key,
               credential, idempotency_key, request_hash, created_at)
             VALUES ($1, $2, $3, $4, 'running', $5, $6, $7, $8, $9, $10, $11)`,
            [
              id,
              run.userId,
              run.workflow.id,
              JSON.stringify(run.workflow.definition),
              JSON.stringify(run.input),
              JSON.stringify(run.trigger),
              run.triggerKey ?? null,
              run.credential,
              run.idempotency?.key ?? null,
              run.idempotency?.requestHash ?? null,
              now(),
            ],
          );
          await tx.query(
            `INSERT INTO run_steps (run_id, idx, name, status)
             SELECT $1, s.idx - 1, s.name, 'pending' FROM unnest($2::text[]) WITH ORDINALITY AS s(name, idx)`,
            [id, run.workflow.definition.steps.map((s) => s.name)],
          );
          await enqueue(tx, id);
          return id;
        },
      });
    },

    /** The run started by `triggerKey`, if one was. */
    async runOfTrigger(triggerKey: string): Promise<string | undefined> {
      const [row] = await db.query<{ id: string }>("SELECT id FROM runs WHERE trigger_key = $1", [
        triggerKey,
      ]);
      return row?.id;
    },

    async run(userId: string, id: string): Promise<Run | undefined> {
      const rows = await db.query<RunRow>("SELECT * FROM runs WHERE id = $1 AND user_id = $2", [
        id,
        userId,
      ]);
      return (await withSteps(db, rows))[0];
    },

    async listRuns(
      userId: string,
      page: { limit: number; after?: string; workflow_id?: string },
    ): Promise<Page<Run>> {
      const found = await ownedPage<RunRow, RunRow>(
        db,
        "runs",
        userId,
        page,
        (r) => r,
        page.workflow_id ? { workflow_id: page.workflow_id } : {},
      );
      return { items: await withSteps(db, found.items), hasMore: found.hasMore };
    },

    /** The run and its steps, for the engine; `lock` holds the run's row until `tx` ends. */
    async record(tx: Db, runId: string, lock = false): Promise<RunRecord | undefined> {
      const [run] = await tx.query<RunRow>(
        `SELECT * FROM runs WHERE id = $1${lock ? " FOR UPDATE" : ""}`,
        [runId],
      );
      if (!run) return undefined;
      return { run, steps: (await stepsOf(tx, [runId])).sort((a, b) => a.idx - b.idx) };
    },

    async updateStep(
      tx: Db,
      runId: string,
      idx: number,
      set: Partial<Pick<StepRow, "status" | "output" | "error">> & {
        attempt?: true;
        failure?: true;
        started?: true;
        finished?: true;
      },
    ): Promise<void> {
      const at = now();
      await tx.query(
        `UPDATE run_steps SET
           status = COALESCE($3, status),
           output = CASE WHEN $4::boolean THEN $5::jsonb ELSE output END,
           error = CASE WHEN $6::boolean THEN $7 ELSE error END,
           attempts = attempts + $8,
           failures = failures + $9,
           started_at = CASE WHEN $10::boolean THEN COALESCE(started_at, $12) ELSE started_at END,
           finished_at = CASE WHEN $11::boolean THEN $12 ELSE finished_at END
         WHERE run_id = $1 AND idx = $2`,
        [
          runId,
          idx,
          set.status ?? null,
          "output" in set,
          JSON.stringify(set.output ?? null),
          "error" in set,
          set.error ?? null,
          set.attempt ? 1 : 0,
          set.failure ? 1 : 0,
          set.started === true,
          set.finished === true,
          at,
        ],
      );
    },

    /** Moves the run to `status`; a finished run forgets its credential. */
    async setRunStatus(
      tx: Db,
      runId: string,
      status: RunStatus,
      error?: string,
      cancelRequested?: boolean,
    ): Promise<void> {
      const finished = status !== "running" && status !== "compensating";
      await tx.query(
        `UPDATE runs SET status = $2, error = COALESCE($3, error),
           cancel_requested = cancel_requested OR $4,
           finished_at = CASE WHEN $5::boolean THEN $6 ELSE finished_at END,
           credential = CASE WHEN $5::boolean THEN NULL ELSE credential END
         WHERE id = $1`,
        [runId, status, error ?? null, cancelRequested === true, finished, now()],
      );
    },

    /** What one user holds: workflows, runs still going, schedules (the per-user limits). */
    async holdings(
      userId: string,
    ): Promise<{ workflows: number; active: number; schedules: number }> {
      const [row] = await db.query<{ workflows: string; active: string; schedules: string }>(
        `SELECT (SELECT count(*) FROM definitions WHERE user_id = $1) AS workflows,
                (SELECT count(*) FROM runs WHERE user_id = $1
                   AND status IN ('running', 'compensating')) AS active,
                (SELECT count(*) FROM schedules WHERE user_id = $1) AS schedules`,
        [userId],
      );
      return {
        workflows: Number(row!.workflows),
        active: Number(row!.active),
        schedules: Number(row!.schedules),
      };
    },

    /** How many runs are in each status, for /metrics. */
    async runCounts(): Promise<Record<string, number>> {
      const rows = await db.query<{ status: string; n: string }>(
        "SELECT status, count(*) AS n FROM runs GROUP BY status",
      );
      return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
    },

    async createSchedule(
      userId: string,
      input: CreateSchedule,
      credential: string,
      register: (tx: Db, id: string) => Promise<void>,
    ): Promise<Schedule> {
      return db.transaction(async (tx) => {
        const [row] = await tx.query<ScheduleRow>(
          `INSERT INTO schedules (id, user_id, workflow_id, cron, timezone, missed, input, credential, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
          [
            newId("wfsch"),
            userId,
            input.workflow_id,
            input.cron,
            input.timezone,
            input.missed,
            JSON.stringify(input.input),
            credential,
            now(),
          ],
        );
        await register(tx, row!.id);
        return toSchedule(row!);
      });
    },

    async schedule(userId: string, id: string): Promise<Schedule | undefined> {
      const [row] = await db.query<ScheduleRow>(
        "SELECT * FROM schedules WHERE id = $1 AND user_id = $2",
        [id, userId],
      );
      return row && toSchedule(row);
    },

    /** A schedule with what a firing needs (its owner and credential), whoever owns it. */
    async scheduleToFire(id: string) {
      const [row] = await db.query<ScheduleRow>("SELECT * FROM schedules WHERE id = $1", [id]);
      return row;
    },

    listSchedules(
      userId: string,
      page: { limit: number; after?: string },
    ): Promise<Page<Schedule>> {
      return ownedPage(db, "schedules", userId, page, toSchedule);
    },

    async deleteSchedule(
      userId: string,
      id: string,
      unregister: (tx: Db) => Promise<void>,
    ): Promise<boolean> {
      return db.transaction(async (tx) => {
        const gone = await tx.query(
          "DELETE FROM schedules WHERE id = $1 AND user_id = $2 RETURNING id",
          [id, userId],
        );
        if (gone.length === 0) return false;
        await unregister(tx);
        return true;
      });
    },

    async recordFiring(tx: Db, scheduleId: string): Promise<void> {
      await tx.query("UPDATE schedules SET fired = fired + 1, last_fired_at = $2 WHERE id = $1", [
        scheduleId,
        now(),
      ]);
    },

    async scheduleCount(): Promise<number> {
      const [row] = await db.query<{ n: string }>("SELECT count(*) AS n FROM schedules");
      return Number(row?.n ?? 0);
    },
  };
}

export type WorkflowStore = ReturnType<typeof workflowStore>;
