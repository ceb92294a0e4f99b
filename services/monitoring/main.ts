import { z } from "zod";
import { envKey, scrapeTarget } from "../../platform/runtimeEnv.ts";
import { fields, loadEnv } from "../shared/config.ts";
import { runService } from "../shared/service.ts";
import { monitoringRoutes } from "./app.ts";
import { createScraper } from "./scraper.ts";

const env = loadEnv(
  {
    targets: z
      .string()
      .transform((s, ctx) => {
        try {
          return JSON.parse(s) as unknown;
        } catch {
          ctx.addIssue({ code: "custom", message: "must be JSON" });
          return z.NEVER;
        }
      })
      .pipe(z.array(scrapeTarget).min(1)),
    intervalMs: z.coerce.number().int().min(500).max(300_000).default(5_000),
    adminToken: fields.secret,
  },
  {
    targets: envKey.monitorTargets,
    intervalMs: envKey.monitorIntervalMs,
    adminToken: envKey.adminToken,
  },
);

await runService({
  name: "monitoring",
  migrations: [],
  routes: async (app, { logger, metrics }) => {
    const scraper = createScraper({
      targets: env.targets,
      intervalMs: env.intervalMs,
      registry: metrics.registry,
      onError: (err) => logger.warn({ err }, "scrape round failed"),
    });
    monitoringRoutes(app, scraper, {
      adminToken: env.adminToken,
      refreshSeconds: Math.max(2, Math.round(env.intervalMs / 1000)),
    });
    scraper.start();
    return () => scraper.stop();
  },
});
