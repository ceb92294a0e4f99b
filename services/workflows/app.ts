import type { Express, Request } from "express";
import type { BridgedTool } from "../api/tools.ts";
import { ApiError, limitReached, notFound, unauthorized } from "../shared/errors.ts";
import { idempotencyOf, sendCreated, idempotencyKeyReused } from "../shared/idempotency.ts";
import { listBody } from "../shared/pagination.ts";
import { principalFrom } from "../shared/principal.ts";
import { jsonBody, parse } from "../shared/validation.ts";
import {
  createScheduleBody,
  definitionBody,
  listRunsQuery,
  listSchedulesQuery,
  listWorkflowsQuery,
  runId,
  scheduleId,
  startRunBody,
  workflowId,
  type WorkflowLimits,
} from "./contract.ts";
import type { CredentialVault } from "./credentials.ts";
import { checkDefinition, runInput } from "./definition.ts";
import type { Engine } from "./engine.ts";
import { checkCron, type Scheduler } from "./scheduler.ts";
import { definitionOf, type WorkflowStore } from "./store.ts";

export interface WorkflowRoutesArgs {
  store: WorkflowStore;
  engine: Engine;
  scheduler: Scheduler;
  vault: CredentialVault;
  /** The operations a step may call, by operationId. */
  tools: ReadonlyMap<string, BridgedTool>;
  perUser: WorkflowLimits;
}

/** The caller's API key, which this service's tier passes it (catalog role `automation`). */
function authorizationOf(req: Request): string {
  const authorization = req.headers.authorization;
  if (!authorization) throw unauthorized("the gateway passed no API key to the workflow service");
  return authorization;
}

/**
 * Workflows (`/v1/workflows`), their runs (`/v1/workflow-runs`) and schedules (`/v1/schedules`):
 * each belongs to the key's owner, and another user's is a 404, as files are.
 */
export function workflowRoutes(app: Express, a: WorkflowRoutesArgs): void {
  const { store } = a;

  app.post("/v1/workflows", ...jsonBody("256kb"), async (req, res) => {
    res.locals.route = "/v1/workflows";
    const { userId } = principalFrom(req.headers);
    const definition = parse(definitionBody, req.body);
    checkDefinition(definition, a.tools);
    if ((await store.holdings(userId)).workflows >= a.perUser.workflows)
      throw limitReached(
        "workflow_limit_reached",
        `a user may store ${a.perUser.workflows} workflows`,
      );
    sendCreated(
      res,
      await store.createWorkflow(userId, definition, idempotencyOf(req.headers, definition)),
    );
  });

  app.get("/v1/workflows", async (req, res) => {
    res.locals.route = "/v1/workflows";
    const { userId } = principalFrom(req.headers);
    res.json(listBody(await store.listWorkflows(userId, parse(listWorkflowsQuery, req.query))));
  });

  app.get("/v1/workflows/:id", async (req, res) => {
    res.locals.route = "/v1/workflows";
    const { userId } = principalFrom(req.headers);
    const id = parse(workflowId, req.params.id, "workflow_id");
    const workflow = await store.workflow(userId, id);
    if (!workflow) throw notFound("workflow_not_found", `no workflow ${id}`);
    res.json(workflow);
  });

  app.post("/v1/workflows/:id/runs", ...jsonBody("256kb"), async (req, res) => {
    res.locals.route = "/v1/workflows";
    const { userId } = principalFrom(req.headers);
    const id = parse(workflowId, req.params.id, "workflow_id");
    const body = parse(startRunBody, req.body);
    const workflow = await store.workflow(userId, id);
    if (!workflow) throw notFound("workflow_not_found", `no workflow ${id}`);
    const input = runInput(workflow, body.input);
    if ((await store.holdings(userId)).active >= a.perUser.activeRuns)
      throw limitReached(
        "run_limit_reached",
        `a user may have ${a.perUser.activeRuns} runs going at once; wait for one to end or cancel one`,
      );
    const result = await store.createRun(
      {
        userId,
        workflow: { id, definition: definitionOf(workflow) },
        input,
        credential: a.vault.seal(authorizationOf(req)),
        trigger: { kind: "api" },
        idempotency: idempotencyOf(req.headers, { id, input }),
      },
      (tx, run) => a.engine.sendStep(tx, run, workflow.steps[0]!, 0),
    );
    if (result.kind === "conflict") throw idempotencyKeyReused();
    if (result.kind === "replayed") res.setHeader("idempotent-replayed", "true");
    const run = await store.run(userId, result.value);
    res.status(202).setHeader("location", `/v1/workflow-runs/${result.value}`).json(run);
  });

  app.get("/v1/workflow-runs", async (req, res) => {
    res.locals.route = "/v1/workflow-runs";
    const { userId } = principalFrom(req.headers);
    res.json(listBody(await store.listRuns(userId, parse(listRunsQuery, req.query))));
  });

  app.get("/v1/workflow-runs/:id", async (req, res) => {
    res.locals.route = "/v1/workflow-runs";
    const { userId } = principalFrom(req.headers);
    const id = parse(runId, req.params.id, "run_id");
    const run = await store.run(userId, id);
    if (!run) throw notFound("run_not_found", `no workflow run ${id}`);
    res.json(run);
  });

  app.post("/v1/workflow-runs/:id/cancel", async (req, res) => {
    res.locals.route = "/v1/workflow-runs";
    const { userId } = principalFrom(req.headers);
    const id = parse(runId, req.params.id, "run_id");
    const run = await store.run(userId, id);
    if (!run) throw notFound("run_not_found", `no workflow run ${id}`);
    if (!(await a.engine.cancel(id)))
      throw new ApiError(
        409,
        "invalid_request_error",
        "run_not_running",
        `the run is ${run.status}: only a running run can be cancelled`,
      );
    res.status(202).json(await store.run(userId, id));
  });

  app.post("/v1/schedules", ...jsonBody("64kb"), async (req, res) => {
    res.locals.route = "/v1/schedules";
    const { userId } = principalFrom(req.headers);
    const input = parse(createScheduleBody, req.body);
    checkCron(input);
    const workflow = await store.workflow(userId, input.workflow_id);
    if (!workflow)
      throw new ApiError(
        404,
        "not_found_error",
        "workflow_not_found",
        `no workflow ${input.workflow_id}`,
        "workflow_id",
      );
    // Refused now rather than at every firing.
    runInput(workflow, input.input);
    if ((await store.holdings(userId)).schedules >= a.perUser.schedules)
      throw limitReached(
        "schedule_limit_reached",
        `a user may have ${a.perUser.schedules} schedules; delete one first`,
      );
    const credential = a.vault.seal(authorizationOf(req));
    const schedule = await store.createSchedule(userId, input, credential, (tx, id) =>
      a.scheduler.register(tx, id, input),
    );
    res.status(201).json(schedule);
  });

  app.get("/v1/schedules", async (req, res) => {
    res.locals.route = "/v1/schedules";
    const { userId } = principalFrom(req.headers);
    res.json(listBody(await store.listSchedules(userId, parse(listSchedulesQuery, req.query))));
  });

  app.get("/v1/schedules/:id", async (req, res) => {
    res.locals.route = "/v1/schedules";
    const { userId } = principalFrom(req.headers);
    const id = parse(scheduleId, req.params.id, "schedule_id");
    const schedule = await store.schedule(userId, id);
    if (!schedule) throw notFound("schedule_not_found", `no schedule ${id}`);
    res.json(schedule);
  });

  app.delete("/v1/schedules/:id", async (req, res) => {
    res.locals.route = "/v1/schedules";
    const { userId } = principalFrom(req.headers);
    const id = parse(scheduleId, req.params.id, "schedule_id");
    if (!(await store.deleteSchedule(userId, id, (tx) => a.scheduler.unregister(tx, id))))
      throw notFound("schedule_not_found", `no schedule ${id}`);
    res.status(204).end();
  });
}
