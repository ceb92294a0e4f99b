import { consumerDeps } from "../shared/consumer.ts";
import { runService } from "../shared/service.ts";
import { billingRoutes, startBillingConsumer } from "./app.ts";
import { billingStore, migrations } from "./store.ts";

await runService({
  name: "billing",
  migrations,
  routes: async (app, deps) => {
    const store = billingStore(deps.db);
    billingRoutes(app, store, deps.db);
    const consumer = startBillingConsumer({ ...consumerDeps(deps), store });
    return () => consumer.stop();
  },
});
