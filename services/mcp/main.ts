import { domains } from "../../platform/catalog/topology.ts";
import { loadRuntimeCatalog } from "../../platform/catalog/runtime.ts";
import { publishedOperations } from "../api/registry.ts";
import { envKey, fields, loadEnv } from "../shared/config.ts";
import { runService } from "../shared/service.ts";
import { mcpRoutes } from "./app.ts";
import { Bridge } from "./bridge.ts";
import { mcpMetrics } from "./metrics.ts";
import { bridgedTools } from "./tools.ts";

const catalog = await loadRuntimeCatalog();
const tiers = loadEnv(
  Object.fromEntries(domains(catalog).map((d) => [d.name, fields.urls])),
  Object.fromEntries(domains(catalog).map((d) => [d.name, envKey.tier(d.name)])),
) as Record<string, string[]>;

await runService({
  name: "mcp",
  migrations: [],
  routes: async (app, { logger, metrics, version }) => {
    const bridge = new Bridge(catalog, tiers);
    mcpRoutes(app, {
      catalog,
      tools: bridgedTools(publishedOperations, "mcp"),
      bridge,
      metrics: mcpMetrics(metrics),
      logger,
      version,
    });
    return () => bridge.close();
  },
});
