import { envKey, fields, loadEnv } from "../shared/config.ts";
import { runService } from "../shared/service.ts";
import { ReplicaSet } from "../shared/upstream.ts";
import { authRoutes } from "./app.ts";
import { userOwners } from "./owners.ts";
import { keyStore, migrations } from "./store.ts";

/** The user the demo key belongs to (DEMO_API_KEY, set by `npm start` or a stack's secret). */
const DEMO_USER = "demo-user";

// The user service's replicas (catalog: `calls`), which hold each user's plan.
const env = loadEnv(
  { demoKey: fields.apiKey, user: fields.urls },
  { demoKey: envKey.demoApiKey, user: envKey.upstream("user") },
);

await runService({
  name: "auth",
  migrations,
  routes: async (app, { db, logger, principalSecret }) => {
    const keys = keyStore(db);
    if (env.demoKey) {
      const record = await keys.add(DEMO_USER, "demo", env.demoKey, "free");
      logger.info({ keyId: record.id, prefix: record.prefix }, "demo key registered");
    }
    const user = new ReplicaSet("user", env.user, {
      signWith: principalSecret,
      healthIntervalMs: 1_000,
      headersTimeoutMs: 2_000,
    });
    authRoutes(app, keys, userOwners({ user, logger }));
    return () => user.close();
  },
});
