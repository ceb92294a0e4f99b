import { envKey, fields, loadEnv } from "../shared/config.ts";
import { runService } from "../shared/service.ts";
import { authRoutes } from "./app.ts";
import { keyStore, migrations } from "./store.ts";

/** The user the demo key belongs to (DEMO_API_KEY, set by `npm start` or a stack's secret). */
const DEMO_USER = "demo-user";

await runService({
  name: "auth",
  migrations,
  routes: async (app, { db, logger }) => {
    const keys = keyStore(db);
    const { demoKey } = loadEnv({ demoKey: fields.apiKey }, { demoKey: envKey.demoApiKey });
    if (demoKey) {
      const record = await keys.add(DEMO_USER, "demo", demoKey, "free");
      logger.info({ keyId: record.id, prefix: record.prefix }, "demo key registered");
    }
    authRoutes(app, keys);
  },
});
