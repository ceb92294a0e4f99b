import { runService } from "../shared/service.ts";
import { userRoutes } from "./app.ts";
import { migrations, userStore } from "./store.ts";

await runService({
  name: "user",
  migrations,
  routes: async (app, { db }) => {
    userRoutes(app, userStore(db));
  },
});
