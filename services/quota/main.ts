import { envKey, fields, loadEnv } from "../shared/config.ts";
import { startRelay } from "../shared/outbox.ts";
import { runService } from "../shared/service.ts";
import { ReplicaSet } from "../shared/upstream.ts";
import { quotaRoutes } from "./app.ts";
import { openQuotaRedis, redisCounter, sqlCounter } from "./counter.ts";
import { planSource } from "./plans.ts";
import { migrations, quotaStore } from "./store.ts";

// The user service's replicas (catalog: `calls`) and the domain's Redis, when it has one.
const env = loadEnv(
  { user: fields.urls, redisUrl: fields.redisUrl },
  { user: envKey.upstream("user"), redisUrl: envKey.redisUrl },
);

await runService({
  name: "quota",
  migrations,
  routes: async (app, { db, events, logger, principalSecret }) => {
    const store = quotaStore(db);
    const redis = env.redisUrl ? await openQuotaRedis(env.redisUrl) : undefined;
    const user = new ReplicaSet("user", env.user, {
      signWith: principalSecret,
      healthIntervalMs: 1_000,
      headersTimeoutMs: 2_000,
    });
    quotaRoutes(app, {
      counter: redis ? redisCounter(redis, store, logger) : sqlCounter(store),
      store,
      plans: planSource({ user, store, logger }),
      logger,
    });
    const stopRelay = startRelay(db, events, logger);
    return async () => {
      await stopRelay();
      await user.close();
      redis?.disconnect();
    };
  },
});
