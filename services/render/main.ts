import { hostname } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { envKey, loadEnv } from "../shared/config.ts";
import { reportQueueDepth } from "../shared/queueDepth.ts";
import { runService } from "../shared/service.ts";
import { blobPlaceFields, openBlobStore } from "../storage/blobs.ts";
import { renderRoutes } from "./app.ts";
import { RENDER_QUEUE_METRIC } from "./contract.ts";
import { migrations, renderStore } from "./store.ts";
import { startRenderWorker } from "./worker.ts";

const env = loadEnv(
  {
    ...blobPlaceFields,
    leaseMs: z.coerce.number().int().min(1_000).max(600_000).default(15_000),
    pollMs: z.coerce.number().int().min(10).max(60_000).default(500),
    maxAttempts: z.coerce.number().int().min(1).max(20).default(3),
    queueNamespace: z.string().min(1).max(255).optional(),
  },
  {
    bucket: envKey.blobBucket,
    kmsKeyId: envKey.blobKmsKeyId,
    region: envKey.awsRegion,
    endpoint: "RENDER_S3_ENDPOINT",
    leaseMs: "RENDER_LEASE_MS",
    pollMs: "RENDER_POLL_MS",
    maxAttempts: "RENDER_MAX_ATTEMPTS",
    queueNamespace: envKey.queueMetricNamespace,
  },
);

await runService({
  name: "render",
  migrations,
  routes: async (app, { db, dataDir, logger, metrics }) => {
    const blobs = await openBlobStore(env, join(dataDir, "render", "blobs"));
    const renders = renderStore(db);
    const worker = startRenderWorker({
      renders,
      blobs,
      logger,
      metrics,
      worker: `${hostname()}:${process.pid}`,
      leaseMs: env.leaseMs,
      pollMs: env.pollMs,
      maxAttempts: env.maxAttempts,
    });
    renderRoutes(app, { renders, blobs, wake: worker.wake });
    // On AWS the task count follows the scenes waiting (catalog queueScaling).
    const stopReporting = env.queueNamespace
      ? reportQueueDepth({
          logger,
          namespace: env.queueNamespace,
          service: "render",
          metric: RENDER_QUEUE_METRIC,
          read: async () => (await renders.queue()).scenes_waiting,
        })
      : () => undefined;
    return async () => {
      stopReporting();
      // A scene cut short here is taken again by another replica once its lease expires.
      await worker.stop();
    };
  },
});
