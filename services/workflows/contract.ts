import { z } from "zod";
import { idSchema } from "../shared/ids.ts";
import { listOf, pageQuery } from "../shared/pagination.ts";

// The workflow API's shapes: the requests, shared by the service and the gateway's validation,
// and the answers, published in the API's description and held to the real ones in tests. A
// workflow is data: steps that call the platform's public operations (by operationId, as the
// OpenAPI document and the MCP tools name them), wait, or assert, with their arguments taken from
// the run's input and earlier steps' outputs through `{{ ... }}` templates (templates.ts).

export const workflowId = idSchema("wf", "a workflow id");
export const runId = idSchema("wfrun", "a workflow run id");
export const scheduleId = idSchema("wfsch", "a schedule id");

const stepName = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,39}$/, "must be 1-40 of a-z 0-9 _, starting with a letter");

/** A comparison of a template's value (`value`, e.g. `{{ steps.check.output.error_rate }}`). */
export const condition = z
  .object({
    value: z.unknown(),
    op: z.enum(["eq", "ne", "gt", "gte", "lt", "lte", "exists", "missing"]),
    /** What `value` is compared with; a template too. Not for `exists` and `missing`. */
    than: z.unknown().optional(),
  })
  .strict();
export type Condition = z.output<typeof condition>;

/** An operation's arguments, as an MCP tool takes them (path parameters by name). */
const callArgs = z
  .object({
    query: z.record(z.string(), z.unknown()).optional(),
    headers: z.record(z.string(), z.string()).optional(),
    body: z.unknown().optional(),
  })
  .catchall(z.unknown());

const operationCall = { call: z.string().min(1).max(80), args: callArgs };

const retryFields = {
  attempts: z.number().int().min(1).max(10),
  backoff_seconds: z.number().int().min(1).max(3_600),
};

const stepFields = {
  name: stepName,
  /** Runs the step only when this holds; a skipped step's output is null. */
  if: condition.optional(),
  /** The operationId of a public operation (GET /v1/openapi.json lists them). */
  call: operationCall.call.optional(),
  args: callArgs.optional(),
  /** Waits this long before the next step, holding no worker meanwhile. */
  wait_seconds: z.number().int().min(1).max(86_400).optional(),
  /** Fails the run (and compensates) unless every condition holds. */
  assert: z.array(condition).min(1).max(20).optional(),
  /** The failed run's error when an assertion does not hold. */
  message: z.string().min(1).max(500).optional(),
  /**
   * Calls again, every `poll_seconds`, until every condition holds on the answer (read it as
   * `{{ steps.<this step>.output... }}`): for work that finishes later, like a training job.
   */
  until: z.array(condition).min(1).max(20).optional(),
  poll_seconds: z.number().int().min(1).max(3_600),
  /** Calls in all before a condition that never holds fails the step. */
  poll_attempts: z.number().int().min(1).max(1_000),
  /** Attempts of a call in all (1: no retry), `backoff_seconds` doubling between them. */
  retry: z.object(retryFields).strict().optional(),
  /** One attempt of a call is abandoned after this long. */
  timeout_seconds: z.number().int().min(1).max(3_600),
  /** Undoes the step's effect when a later step fails: an operation call of its own. */
  compensate: z.object(operationCall).strict().optional(),
};

export const step = z
  .object({
    ...stepFields,
    poll_seconds: stepFields.poll_seconds.default(5),
    poll_attempts: stepFields.poll_attempts.default(60),
    retry: z
      .object({
        attempts: retryFields.attempts.default(3),
        backoff_seconds: retryFields.backoff_seconds.default(2),
      })
      .strict()
      .optional(),
    timeout_seconds: stepFields.timeout_seconds.default(60),
    compensate: z
      .object({ ...operationCall, args: operationCall.args.default({}) })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    const kinds = [s.call, s.wait_seconds, s.assert].filter((k) => k !== undefined).length;
    if (kinds !== 1)
      ctx.addIssue({
        code: "custom",
        message: "a step has exactly one of call, wait_seconds or assert",
      });
    if (s.args !== undefined && s.call === undefined)
      ctx.addIssue({ code: "custom", path: ["args"], message: "args belong to a call step" });
    if (s.message !== undefined && s.assert === undefined)
      ctx.addIssue({ code: "custom", path: ["message"], message: "message belongs to an assert" });
    if (s.until !== undefined && s.call === undefined)
      ctx.addIssue({ code: "custom", path: ["until"], message: "until belongs to a call step" });
    if (s.compensate !== undefined && s.call === undefined)
      ctx.addIssue({ code: "custom", path: ["compensate"], message: "only a call compensates" });
  });
export type Step = z.output<typeof step>;

const inputName = z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, "must be 1-40 of a-z 0-9 _");

export const inputSpec = z
  .object({
    type: z.enum(["string", "number", "boolean", "object", "array"]),
    /** A run without this input takes `default`, or is refused when there is none. */
    default: z.unknown().optional(),
    description: z.string().max(500).optional(),
  })
  .strict();
export type InputSpec = z.output<typeof inputSpec>;

export const definitionBody = z
  .object({
    name: z.string().min(1).max(80),
    description: z.string().max(1_000).optional(),
    inputs: z.record(inputName, inputSpec).default({}),
    steps: z.array(step).min(1).max(50),
  })
  .strict();
export type Definition = z.output<typeof definitionBody>;

export const startRunBody = z
  .object({ input: z.record(z.string(), z.unknown()).default({}) })
  .strict()
  .prefault({});

export const missedPolicies = ["skip", "once"] as const;

export const createScheduleBody = z
  .object({
    workflow_id: workflowId,
    /** Five fields: minute precision (pg-boss checks for due occurrences every few seconds). */
    cron: z.string().min(1).max(120),
    /** An IANA time zone, e.g. Europe/Paris. */
    timezone: z.string().min(1).max(64).default("UTC"),
    input: z.record(z.string(), z.unknown()).default({}),
    /**
     * Firings that came due while no replica ran: `skip` them (default), or start `once`, for the
     * latest of them, when a replica is back.
     */
    missed: z.enum(missedPolicies).default("skip"),
  })
  .strict();
export type CreateSchedule = z.output<typeof createScheduleBody>;

/**
 * What one user may hold: each workflow is a stored definition, each run still going holds jobs
 * and a sealed key, and each schedule starts runs by itself, so none may grow without bound.
 * Checked before each create; two creates racing may pass one over.
 */
export interface WorkflowLimits {
  workflows: number;
  activeRuns: number;
  schedules: number;
}
export const DEFAULT_WORKFLOW_LIMITS: WorkflowLimits = {
  workflows: 200,
  activeRuns: 20,
  schedules: 20,
};

export const listWorkflowsQuery = pageQuery(workflowId);
export const listSchedulesQuery = pageQuery(scheduleId);
export const listRunsQuery = pageQuery(runId).extend({ workflow_id: workflowId.optional() });

export const runStatuses = ["running", "compensating", "succeeded", "failed", "cancelled"] as const;
export type RunStatus = (typeof runStatuses)[number];

export const stepStatuses = [
  "pending",
  "running",
  "waiting",
  "succeeded",
  "skipped",
  "failed",
  "compensated",
  "compensation_failed",
] as const;
export type StepStatus = (typeof stepStatuses)[number];

const unixMs = z.number().int();

/** A stored workflow: its definition as created, with the defaults filled in. */
export const workflowSchema = z
  .object({
    id: workflowId,
    object: z.literal("workflow"),
    name: definitionBody.shape.name,
    description: z.string().max(1_000).nullable(),
    inputs: z.record(inputName, inputSpec),
    steps: z.array(z.object(stepFields).strict()).min(1).max(50),
    created_at: unixMs.meta({ description: "Milliseconds since the epoch" }),
  })
  .strict()
  .meta({ id: "Workflow", description: "A stored workflow definition" });
export type Workflow = z.infer<typeof workflowSchema>;
export const workflowList = listOf(workflowSchema);

const stepState = z
  .object({
    name: stepName,
    status: z.enum(stepStatuses),
    attempts: z.number().int().min(0),
    output: z.unknown().meta({ description: "The step's answer (null until it has one)" }),
    error: z.string().nullable(),
    started_at: unixMs.nullable(),
    finished_at: unixMs.nullable(),
    duration_ms: z.number().int().min(0).nullable(),
  })
  .strict();
export type StepState = z.infer<typeof stepState>;

export const runSchema = z
  .object({
    id: runId,
    object: z.literal("workflow.run"),
    workflow_id: workflowId,
    status: z.enum(runStatuses),
    trigger: z.discriminatedUnion("kind", [
      z.object({ kind: z.literal("api") }).strict(),
      z.object({ kind: z.literal("schedule"), schedule_id: scheduleId }).strict(),
    ]),
    input: z.record(z.string(), z.unknown()),
    steps: z.array(stepState),
    error: z.string().nullable(),
    created_at: unixMs.meta({ description: "Milliseconds since the epoch" }),
    finished_at: unixMs.nullable(),
  })
  .strict()
  .meta({ id: "WorkflowRun", description: "A workflow run, with each step's state" });
export type Run = z.infer<typeof runSchema>;
export const runList = listOf(runSchema);

export const scheduleSchema = z
  .object({
    id: scheduleId,
    object: z.literal("workflow.schedule"),
    workflow_id: workflowId,
    cron: createScheduleBody.shape.cron,
    timezone: z.string().min(1).max(64),
    missed: z.enum(missedPolicies),
    input: z.record(z.string(), z.unknown()),
    fired: z.number().int().min(0),
    last_fired_at: unixMs.nullable(),
    created_at: unixMs.meta({ description: "Milliseconds since the epoch" }),
  })
  .strict()
  .meta({ id: "WorkflowSchedule", description: "A schedule and how often it fired" });
export type Schedule = z.infer<typeof scheduleSchema>;
export const scheduleList = listOf(scheduleSchema);
