import { envKey } from "../shared/config.ts";
import { runService } from "../shared/service.ts";
import { analyticsRoutes, startAnalyticsConsumer } from "./app.ts";
import { analyticsStore, migrations } from "./store.ts";

await runService({
  name: "analytics",
  migrations,
  routes: async (app, { db, logger, metrics, env, dataDir }) => {
    const store = analyticsStore(db);
    analyticsRoutes(app, store, db);
    const consumer = startAnalyticsConsumer({
      db,
      store,
      logger,
      registry: metrics.registry,
      kafkaBrokers: env[envKey.kafkaBrokers],
      eventsDir: `${dataDir}/events`,
    });
    return () => consumer.stop();
  },
});
