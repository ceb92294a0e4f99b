import { startRelay } from "../shared/outbox.ts";
import { runService } from "../shared/service.ts";
import { articleRoutes } from "./app.ts";
import { articleStore, migrations } from "./store.ts";

await runService({
  name: "articles",
  migrations,
  routes: async (app, { db, events, logger }) => {
    articleRoutes(app, articleStore(db));
    return startRelay(db, events, logger);
  },
});
