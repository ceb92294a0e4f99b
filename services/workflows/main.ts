import { PgBoss } from "pg-boss";
import { parse as parseUrl } from "pg-connection-string";
import { z } from "zod";
import { loadRuntimeCatalog } from "../../platform/catalog/runtime.ts";
import { Bridge } from "../api/bridge.ts";
import { publishedOperations } from "../api/registry.ts";
import { bridgedTools } from "../api/tools.ts";
import { envKey, fields, loadEnv } from "../shared/config.ts";
import { ApiError } from "../shared/errors.ts";
import { runService } from "../shared/service.ts";
import { iamAuthToken } from "../shared/sql/rotatingPassword.ts";
import { tierEnv } from "../shared/tiers.ts";
import { workflowRoutes } from "./app.ts";
import { CredentialVault } from "./credentials.ts";
import { Engine } from "./engine.ts";
import { workflowMetrics } from "./metrics.ts";
import { Scheduler } from "./scheduler.ts";
import { migrations, workflowStore } from "./store.ts";

const catalog = await loadRuntimeCatalog();
const tier = tierEnv(catalog);
const tiers = loadEnv(tier.fields, tier.keys) as Record<string, string[]>;
const env = loadEnv(
  {
    databaseUrl: fields.databaseUrl,
    databaseAuth: fields.databaseAuth,
    databasePoolMax: fields.databasePoolMax,
    concurrency: z.coerce.number().int().min(1).max(64).default(8),
    superviseSeconds: z.coerce.number().int().min(1).max(3_600).default(10),
    cronCheckSeconds: z.coerce.number().int().min(1).max(45).default(5),
  },
  {
    databaseUrl: envKey.databaseUrl,
    databaseAuth: envKey.databaseAuth,
    databasePoolMax: envKey.databasePoolMax,
    concurrency: "WORKFLOWS_CONCURRENCY",
    superviseSeconds: "WORKFLOWS_SUPERVISE_SECONDS",
    cronCheckSeconds: "WORKFLOWS_CRON_CHECK_SECONDS",
  },
);

// The operations a step may call: every public one but the workflow service's own (a run that
// starts runs) and the MCP endpoint (a protocol, not an operation).
const tools = new Map(
  bridgedTools(publishedOperations, "workflows")
    .filter((t) => t.name !== "mcp")
    .map((t) => [t.name, t]),
);

if (env.databaseUrl) await runEngine(env.databaseUrl);
else await runWithoutPostgres();

async function runEngine(databaseUrl: string): Promise<void> {
  await runService({
    name: "workflows",
    migrations,
    routes: async (app, { db, logger, metrics, principalSecret }) => {
      // pg-boss keeps its tables in the service's own schema, which runService made; a service
      // role may not create schemas (serviceRoles.ts).
      const region = process.env[envKey.awsRegion];
      const boss = new PgBoss({
        ...(env.databaseAuth === "aws-iam"
          ? {
              ...(parseUrl(databaseUrl) as object),
              password: () => iamAuthToken(databaseUrl, region!).get(),
            }
          : { connectionString: databaseUrl }),
        schema: "workflows",
        createSchema: false,
        // As large as the service's own pool, which the AWS stack sizes counting both.
        max: env.databasePoolMax,
        superviseIntervalSeconds: env.superviseSeconds,
        monitorIntervalSeconds: env.superviseSeconds,
        // How often a replica looks for due cron occurrences, and for their jobs: the firing delay.
        cronMonitorIntervalSeconds: env.cronCheckSeconds,
        cronWorkerIntervalSeconds: env.cronCheckSeconds,
        useListenNotify: true,
      });
      boss.on("error", (err) => logger.error({ err }, "pg-boss"));
      await boss.start();
      const store = workflowStore(db);
      const figures = workflowMetrics(metrics, {
        runs: () => store.runCounts(),
        schedules: () => store.scheduleCount(),
      });
      const vault = new CredentialVault(principalSecret);
      const bridge = new Bridge(catalog, tiers, "workflows");
      const engine = new Engine({
        store,
        boss,
        bridge,
        tools,
        vault,
        logger,
        metrics: figures,
        concurrency: env.concurrency,
      });
      const scheduler = new Scheduler({ store, boss, engine, logger, metrics: figures });
      await engine.start();
      await scheduler.start();
      workflowRoutes(app, { store, engine, scheduler, vault, tools });
      return async () => {
        // A step cut short here is taken again by another replica once its job expires.
        await boss.stop({ graceful: true, timeout: 10_000 });
        await bridge.close();
      };
    },
  });
}

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
