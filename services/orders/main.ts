import { startRelay } from "../shared/outbox.ts";
import { runService } from "../shared/service.ts";
import { orderRoutes } from "./app.ts";
import { migrations, orderStore } from "./store.ts";

await runService({
  name: "orders",
  migrations,
  routes: async (app, { db, events, logger }) => {
    orderRoutes(app, orderStore(db));
    return startRelay(db, events, logger);
  },
});
