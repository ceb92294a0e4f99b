import type { Express, RequestHandler } from "express";
import { z } from "zod";
import { loadRuntimeCatalog } from "../../platform/catalog/runtime.ts";
import { openCache, type Cache } from "./cache.ts";
import { envKey, fields, loadEnv } from "./config.ts";
import { openDb, type Db } from "./sql/db.ts";
import { migrate } from "./sql/migrate.ts";
import { ApiError } from "./errors.ts";
import { openEventBus, type EventBus } from "./events.ts";
import { checkAnswers, checkingAnswers } from "./answerCheck.ts";
import { createApp, finishApp, serve } from "./http.ts";
import { createLogger, type Logger } from "./logger.ts";
import { createMetrics, type Metrics } from "./metrics.ts";

export interface ServiceDeps {
  name: string;
  version: string;
  db: Db;
  cache: Cache;
  events: EventBus;
  logger: Logger;
  metrics: Metrics;
  dataDir: string;
  env: NodeJS.ProcessEnv;
  /** PRINCIPAL_SECRET: the `signWith` of the replica sets of the services this one calls. */
  principalSecret: string;
}

export interface ServiceDefinition {
  name: string;
  /** Versioned schema migrations, applied at start (see sql/migrate.ts). */
  migrations: readonly string[];
  /** Adds the service's routes; may return a hook that runs while the service drains. */
  routes: (app: Express, deps: ServiceDeps) => Promise<(() => Promise<void>) | void>;
}

/**
 * A drill's switch, set per version in the catalog (`versions[].env`): this share of the API
 * requests (`/v1/*`, never health or metrics) fails with a 500, as a bad release would, so that
 * an upgrade to it can be seen rolling back.
 */
export const FAULT_ERROR_RATE = "FAULT_ERROR_RATE";

function injectFaults(share: number): RequestHandler {
  return (_req, _res, next) =>
    next(
      Math.random() < share
        ? new ApiError(
            500,
            "api_error",
            "injected_fault",
            `${FAULT_ERROR_RATE} failed this request`,
          )
        : undefined,
    );
}

/** Boots a domain service: validated env, its store (migrated), cache, event bus, app, drain. */
export async function runService(def: ServiceDefinition): Promise<void> {
  const catalog = await loadRuntimeCatalog();
  const env = loadEnv(
    {
      port: fields.port,
      domain: fields.domain,
      service: fields.service,
      version: fields.version,
      databaseUrl: fields.databaseUrl,
      databaseAuth: fields.databaseAuth,
      databasePoolMax: fields.databasePoolMax,
      redisUrl: fields.redisUrl,
      kafkaBrokers: fields.kafkaBrokers,
      dataDir: fields.dataDir,
      principalSecret: fields.principalSecret,
      faultErrorRate: z.coerce
        .number()
        .min(0, "must be a share between 0 and 1")
        .max(1, "must be a share between 0 and 1")
        .default(0),
    },
    {
      port: envKey.port,
      domain: envKey.domain,
      service: envKey.service,
      version: envKey.version,
      databaseUrl: envKey.databaseUrl,
      databaseAuth: envKey.databaseAuth,
      databasePoolMax: envKey.databasePoolMax,
      redisUrl: envKey.redisUrl,
      kafkaBrokers: envKey.kafkaBrokers,
      dataDir: envKey.dataDir,
      principalSecret: envKey.principalSecret,
      faultErrorRate: FAULT_ERROR_RATE,
    },
  );
  const spec = catalog.services[def.name];
  if (!spec) throw new Error(`service ${def.name} is not in the catalog`);
  if (env.service !== def.name || env.domain !== spec.domain) {
    throw new Error(
      `${envKey.service}/${envKey.domain}: this program is ${def.name} of ${spec.domain}, got ${env.service} of ${env.domain}`,
    );
  }
  const logger = createLogger(def.name);
  const metrics = createMetrics(def.name);
  const db = await openDb({
    service: def.name,
    domain: spec.domain,
    databaseUrl: env.databaseUrl,
    databaseAuth: env.databaseAuth,
    // ECS sets AWS_REGION in every task.
    region: process.env[envKey.awsRegion],
    databasePoolMax: env.databasePoolMax,
    dataDir: env.dataDir,
  });
  const applied = await migrate(db, def.name, def.migrations);
  logger.info({ store: db.engine, applied }, "migrations done");
  const cache = await openCache(env.redisUrl, def.name);
  const events = openEventBus(env.kafkaBrokers, `${def.name}-${env.version}`, env.dataDir);

  let draining = false;
  const app = createApp({
    logger,
    metrics,
    draining: () => draining,
    ready: async () => ({ [db.engine]: await db.ping(), cache: await cache.ping() }),
    principalSecret: env.principalSecret,
  });
  const deps: ServiceDeps = {
    name: def.name,
    version: env.version,
    db,
    cache,
    events,
    logger,
    metrics,
    dataDir: env.dataDir,
    env: process.env,
    principalSecret: env.principalSecret,
  };
  if (env.faultErrorRate > 0) {
    logger.warn(
      { share: env.faultErrorRate },
      `${FAULT_ERROR_RATE}: failing API requests on purpose`,
    );
    app.use("/v1", injectFaults(env.faultErrorRate));
  }
  if (checkingAnswers()) {
    // Test runs only: the registry loads every service's schemas.
    const { publishedOperations } = await import("../api/registry.ts");
    checkAnswers(app, publishedOperations[def.name] ?? [], logger);
  }
  const onDrain = await def.routes(app, deps);
  finishApp(app, logger);
  await serve(app, env.port, logger, {
    startDraining: () => (draining = true),
    onClose: async () => {
      if (onDrain) await onDrain();
      await Promise.allSettled([db.close(), cache.close(), events.close()]);
    },
  });
}
