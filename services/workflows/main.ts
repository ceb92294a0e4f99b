import { z } from "zod";
import { loadRuntimeCatalog } from "../../platform/catalog/runtime.ts";
import { envKey, fields, loadEnv } from "../shared/config.ts";
import { ApiError } from "../shared/errors.ts";
import { runService } from "../shared/service.ts";
import { tierEnv } from "../shared/tiers.ts";
import { DEFAULT_WORKFLOW_LIMITS } from "./contract.ts";

const catalog = await loadRuntimeCatalog();
const tier = tierEnv(catalog);
const tiers = loadEnv(tier.fields, tier.keys) as Record<string, string[]>;
const limit = z.coerce.number().int().min(1).max(100_000);
const env = loadEnv(
  {
    databaseUrl: fields.databaseUrl,
    databaseAuth: fields.databaseAuth,
    databasePoolMax: fields.databasePoolMax,
    concurrency: z.coerce.number().int().min(1).max(64).default(8),
    superviseSeconds: z.coerce.number().int().min(1).max(3_600).default(10),
    cronCheckSeconds: z.coerce.number().int().min(1).max(45).default(5),
    maxWorkflows: limit.default(DEFAULT_WORKFLOW_LIMITS.workflows),
    maxActiveRuns: limit.default(DEFAULT_WORKFLOW_LIMITS.activeRuns),
    maxSchedules: limit.default(DEFAULT_WORKFLOW_LIMITS.schedules),
  },
  {
    databaseUrl: envKey.databaseUrl,
    databaseAuth: envKey.databaseAuth,
    databasePoolMax: envKey.databasePoolMax,
    concurrency: "WORKFLOWS_CONCURRENCY",
    superviseSeconds: "WORKFLOWS_SUPERVISE_SECONDS",
    cronCheckSeconds: "WORKFLOWS_CRON_CHECK_SECONDS",
    maxWorkflows: "WORKFLOWS_MAX_WORKFLOWS",
    maxActiveRuns: "WORKFLOWS_MAX_ACTIVE_RUNS",
    maxSchedules: "WORKFLOWS_MAX_SCHEDULES",
  },
);

// The engine and everything it loads (pg-boss, every service's schemas for the tools) only when
// it can run: on embedded SQLite the replica stays as small as a plain service.
if (env.databaseUrl) {
  const { runEngine } = await import("./engineService.ts");
  await runEngine({
    ...env,
    databaseUrl: env.databaseUrl,
    catalog,
    tiers,
    perUser: {
      workflows: env.maxWorkflows,
      activeRuns: env.maxActiveRuns,
      schedules: env.maxSchedules,
    },
  });
} else await runWithoutPostgres();

/**
 * `npm start` on embedded SQLite (no DATABASE_URL): the queue is pg-boss, which needs PostgreSQL,
 * so every route answers 501 saying how to get it, rather than the replica failing to start and
 * taking the topology's readiness with it.
 */
async function runWithoutPostgres(): Promise<void> {
  const routes = catalog.services["workflows"]!.routes;
  await runService({
    name: "workflows",
    migrations: [],
    routes: async (app) => {
      app.use(routes, () => {
        throw new ApiError(
          501,
          "api_error",
          "postgres_required",
          `workflows and schedules need PostgreSQL: start the platform with \`npm run start:postgres\`, or with ${envKey.databaseUrl} set (docs/workflows.md)`,
        );
      });
    },
  });
}
