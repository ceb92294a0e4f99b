import { envKey } from "../shared/config.ts";
import { runService } from "../shared/service.ts";
import { billingRoutes, startBillingConsumer } from "./app.ts";
import { billingStore, migrations } from "./store.ts";

await runService({
  name: "billing",
  migrations,
  routes: async (app, { db, logger, metrics, env, dataDir }) => {
    const store = billingStore(db);
    billingRoutes(app, store, db);
    const consumer = startBillingConsumer({
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
