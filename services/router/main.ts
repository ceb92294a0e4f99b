import { loadRuntimeCatalog } from "../../platform/catalog/runtime.ts";
import { envKey, fields, loadEnv } from "../shared/config.ts";
import { serve } from "../shared/http.ts";
import { createLogger } from "../shared/logger.ts";
import { tierEnv } from "../shared/tiers.ts";
import { createMetrics } from "../shared/metrics.ts";
import { createRouter } from "./app.ts";

const catalog = await loadRuntimeCatalog();
const logger = createLogger("router");
const tier = tierEnv(catalog);
const env = loadEnv({ port: fields.port, ...tier.fields }, { port: envKey.port, ...tier.keys });
const { port, ...tiers } = env as { port: number } & Record<string, string[]>;

let draining = false;
const router = createRouter({
  catalog,
  tiers,
  logger,
  metrics: createMetrics("router"),
  draining: () => draining,
});
await serve(router.handler, port, logger, {
  opsHandler: router.opsHandler,
  startDraining: () => (draining = true),
  onClose: router.close,
});
