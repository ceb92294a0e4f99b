import { loadRuntimeCatalog } from "../../platform/catalog/runtime.ts";
import { publishedOperations } from "../api/registry.ts";
import { loadEnv } from "../shared/config.ts";
import { runService } from "../shared/service.ts";
import { tierEnv } from "../shared/tiers.ts";
import { mcpRoutes } from "./app.ts";
import { Bridge } from "../api/bridge.ts";
import { mcpMetrics } from "./metrics.ts";
import { bridgedTools } from "../api/tools.ts";

const catalog = await loadRuntimeCatalog();
const tier = tierEnv(catalog);
const tiers = loadEnv(tier.fields, tier.keys) as Record<string, string[]>;

await runService({
  name: "mcp",
  migrations: [],
  routes: async (app, { logger, metrics, version }) => {
    const bridge = new Bridge(catalog, tiers, "mcp");
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
