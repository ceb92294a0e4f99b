import { fields, loadEnv, envKey } from "../shared/config.ts";
import { startRelay } from "../shared/outbox.ts";
import { runService } from "../shared/service.ts";
import { ReplicaSet } from "../shared/upstream.ts";
import { chatRoutes } from "./app.ts";
import { InferenceClient, ModelClient } from "./clients.ts";
import { reportMetrics, startDeliverer, tierSender } from "./quota.ts";
import { chatStore, migrations } from "./store.ts";

// The replicas of the services chat calls (catalog: `calls`), as every target passes them, and
// the identity tier through which it reports usage to quota (catalog: `tierCalls`).
const upstream = loadEnv(
  { model: fields.urls, inference: fields.urls, quota: fields.urls },
  {
    model: envKey.upstream("model"),
    inference: envKey.upstream("inference"),
    quota: envKey.upstream("quota"),
  },
);

await runService({
  name: "chat",
  migrations,
  routes: async (app, { db, cache, events, logger, metrics, principalSecret }) => {
    // Active health checks, so that a stopped or draining replica is skipped before a request
    // finds it out.
    const model = new ReplicaSet("model", upstream.model, {
      signWith: principalSecret,
      healthIntervalMs: 1_000,
      headersTimeoutMs: 5_000,
    });
    const inference = new ReplicaSet("inference", upstream.inference, {
      signWith: principalSecret,
      healthIntervalMs: 1_000,
    });
    const identityTier = new ReplicaSet("identity-tier", upstream.quota, {
      signWith: principalSecret,
      healthIntervalMs: 1_000,
      headersTimeoutMs: 5_000,
    });
    chatRoutes(app, {
      store: chatStore(db),
      cache,
      models: new ModelClient(model),
      inference: new InferenceClient(inference),
      logger,
    });
    const stopRelay = startRelay(db, events, logger);
    const stopReports = startDeliverer(db, tierSender(identityTier), logger, {
      counter: reportMetrics(metrics.registry),
    });
    return async () => {
      await Promise.all([stopRelay(), stopReports()]);
      await Promise.all([model.close(), inference.close(), identityTier.close()]);
    };
  },
});
