import { PgBoss } from "pg-boss";
import { parse as parseUrl } from "pg-connection-string";
import type { Catalog } from "../../platform/catalog/schema.ts";
import { Bridge } from "../api/bridge.ts";
import { publishedOperations } from "../api/registry.ts";
import { bridgedTools } from "../api/tools.ts";
import { envKey } from "../shared/config.ts";
import { runService } from "../shared/service.ts";
import { iamAuthToken } from "../shared/sql/rotatingPassword.ts";
import { workflowRoutes } from "./app.ts";
import type { WorkflowLimits } from "./contract.ts";
import { CredentialVault } from "./credentials.ts";
import { Engine } from "./engine.ts";
import { workflowMetrics } from "./metrics.ts";
import { Scheduler } from "./scheduler.ts";
import { migrations, workflowStore } from "./store.ts";

/** What main.ts read and checked from the environment. */
export interface EngineSettings {
  catalog: Catalog;
  tiers: Record<string, string[]>;
  databaseUrl: string;
  databaseAuth: "password" | "aws-iam";
  databasePoolMax: number;
  concurrency: number;
  superviseSeconds: number;
  cronCheckSeconds: number;
  perUser: WorkflowLimits;
}

// The operations a step may call: every public one but the workflow service's own (a run that
// starts runs) and the MCP endpoint (a protocol, not an operation).
const tools = new Map(
  bridgedTools(publishedOperations, "workflows")
    .filter((t) => t.name !== "mcp")
    .map((t) => [t.name, t]),
);

/** The workflow service on PostgreSQL: its routes, the engine and the scheduler on pg-boss. */
export async function runEngine(env: EngineSettings): Promise<void> {
  const { catalog, tiers, databaseUrl } = env;
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
      const scheduler = new Scheduler({
        store,
        boss,
        engine,
        logger,
        metrics: figures,
        activeRuns: env.perUser.activeRuns,
      });
      await engine.start();
      await scheduler.start();
      workflowRoutes(app, {
        store,
        engine,
        scheduler,
        vault,
        tools,
        perUser: env.perUser,
      });
      return async () => {
        // A step cut short here is taken again by another replica once its job expires.
        await boss.stop({ graceful: true, timeout: 10_000 });
        await bridge.close();
      };
    },
  });
}
