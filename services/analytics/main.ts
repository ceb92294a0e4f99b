import { consumerDeps } from "../shared/consumer.ts";
import { runService } from "../shared/service.ts";
import { analyticsRoutes, startAnalyticsConsumer } from "./app.ts";
import { analyticsStore, migrations } from "./store.ts";

await runService({
  name: "analytics",
  migrations,
  routes: async (app, deps) => {
    const store = analyticsStore(deps.db);
    analyticsRoutes(app, store, deps.db);
    const consumer = startAnalyticsConsumer({ ...consumerDeps(deps), store });
    return () => consumer.stop();
  },
});
