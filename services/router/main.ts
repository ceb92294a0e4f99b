import { domains } from "../../platform/catalog/topology.ts";
import { loadRuntimeCatalog } from "../../platform/catalog/runtime.ts";
import { envKey, fields, loadEnv } from "../shared/config.ts";
import { serve } from "../shared/http.ts";
import { createLogger } from "../shared/logger.ts";
import { createMetrics } from "../shared/metrics.ts";
import { createRouter } from "./app.ts";

const catalog = await loadRuntimeCatalog();
const logger = createLogger("router");
const tierFields = Object.fromEntries(domains(catalog).map((d) => [d.name, fields.urls]));
const tierNames = Object.fromEntries(domains(catalog).map((d) => [d.name, envKey.tier(d.name)]));
const env = loadEnv({ port: fields.port, ...tierFields }, { port: envKey.port, ...tierNames });
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
