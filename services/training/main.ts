import { z } from "zod";
import { envKey, fields, loadEnv } from "../shared/config.ts";
import { runService } from "../shared/service.ts";
import { ReplicaSet } from "../shared/upstream.ts";
import { StorageClient } from "../storage/client.ts";
import { trainingRoutes } from "./app.ts";
import { DEFAULT_JOB_LIMITS } from "./contract.ts";
import { jobStore, migrations } from "./store.ts";
import { ModelRegistry, startWorker } from "./worker.ts";

const env = loadEnv(
  {
    storage: fields.urls,
    model: fields.urls,
    leaseMs: z.coerce.number().int().min(1_000).max(3_600_000).default(30_000),
    pollMs: z.coerce.number().int().min(10).max(60_000).default(1_000),
    maxAttempts: z.coerce.number().int().min(1).max(20).default(3),
  },
  {
    // The services training calls (catalog `calls`).
    storage: envKey.upstream("storage"),
    model: envKey.upstream("model"),
    leaseMs: "TRAINING_LEASE_MS",
    pollMs: "TRAINING_POLL_MS",
    maxAttempts: "TRAINING_MAX_ATTEMPTS",
  },
);

await runService({
  name: "training",
  migrations,
  routes: async (app, { db, logger, principalSecret }) => {
    const storageSet = new ReplicaSet("storage", env.storage, {
      signWith: principalSecret,
      healthIntervalMs: 1_000,
      headersTimeoutMs: 30_000,
    });
    const modelSet = new ReplicaSet("model", env.model, {
      signWith: principalSecret,
      healthIntervalMs: 1_000,
      headersTimeoutMs: 5_000,
    });
    const jobs = jobStore(db);
    const storage = new StorageClient(storageSet);
    const registry = new ModelRegistry(modelSet);
    const worker = startWorker({
      jobs,
      storage,
      registry,
      logger,
      leaseMs: env.leaseMs,
      pollMs: env.pollMs,
      maxAttempts: env.maxAttempts,
    });
    trainingRoutes(app, {
      jobs,
      storage,
      registry,
      wake: worker.wake,
      perUser: DEFAULT_JOB_LIMITS,
    });
    return async () => {
      // A job cut short here is taken again by another replica once its lease expires.
      await worker.stop();
      await Promise.all([storageSet.close(), modelSet.close()]);
    };
  },
});
