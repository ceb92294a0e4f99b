import { join } from "node:path";
import { z } from "zod";
import { envKey, fields, loadEnv } from "../shared/config.ts";
import { startRelay } from "../shared/outbox.ts";
import { runService } from "../shared/service.ts";
import { ReplicaSet } from "../shared/upstream.ts";
import { blobPlaceFields, openBlobStore } from "../storage/blobs.ts";
import { StorageClient } from "../storage/client.ts";
import { videoRoutes } from "./app.ts";
import { RenderClient, StoryboardWriter } from "./clients.ts";
import { DEFAULT_VIDEO_LIMITS } from "./contract.ts";
import { startDriver } from "./driver.ts";
import { AnalyticsInsights } from "./insights.ts";
import { playRecorder } from "./plays.ts";
import { migrations, videoStore } from "./store.ts";

const limit = z.coerce.number().int().min(1).max(100_000);
const env = loadEnv(
  {
    ...blobPlaceFields,
    storage: fields.urls,
    render: fields.urls,
    chat: fields.urls,
    analytics: fields.urls,
    model: z.string().min(1).max(200).default("deepseek-chat"),
    leaseMs: z.coerce.number().int().min(1_000).max(600_000).default(60_000),
    pollMs: z.coerce.number().int().min(10).max(60_000).default(500),
    maxAttempts: z.coerce.number().int().min(1).max(20).default(4),
    maxActive: limit.default(DEFAULT_VIDEO_LIMITS.active),
    maxVideos: limit.default(DEFAULT_VIDEO_LIMITS.total),
  },
  {
    bucket: envKey.blobBucket,
    kmsKeyId: envKey.blobKmsKeyId,
    region: envKey.awsRegion,
    endpoint: "VIDEO_S3_ENDPOINT",
    // The services the orchestrator calls (catalog `calls`).
    storage: envKey.upstream("storage"),
    render: envKey.upstream("render"),
    chat: envKey.upstream("chat"),
    analytics: envKey.upstream("analytics"),
    model: "VIDEO_STORYBOARD_MODEL",
    leaseMs: "VIDEO_LEASE_MS",
    pollMs: "VIDEO_POLL_MS",
    maxAttempts: "VIDEO_MAX_ATTEMPTS",
    maxActive: "VIDEO_MAX_ACTIVE",
    maxVideos: "VIDEO_MAX_VIDEOS",
  },
);

await runService({
  name: "video",
  migrations,
  routes: async (app, { db, dataDir, events, logger, metrics, principalSecret }) => {
    const set = (name: string, urls: string[], headersTimeoutMs: number) =>
      new ReplicaSet(name, urls, {
        signWith: principalSecret,
        healthIntervalMs: 1_000,
        headersTimeoutMs,
      });
    const sets = [
      set("storage", env.storage, 30_000),
      set("render", env.render, 30_000),
      // A storyboard is a whole (unstreamed) answer of the language model.
      set("chat", env.chat, 120_000),
      set("analytics", env.analytics, 5_000),
    ] as const;
    const [storageSet, renderSet, chatSet, analyticsSet] = sets;
    const blobs = await openBlobStore(env, join(dataDir, "video", "blobs"));
    const videos = videoStore(db);
    const storage = new StorageClient(storageSet);
    const render = new RenderClient(renderSet);
    const driver = startDriver({
      videos,
      blobs,
      render,
      writer: new StoryboardWriter(chatSet, env.model),
      storage,
      insights: new AnalyticsInsights(analyticsSet, logger),
      logger,
      metrics,
      leaseMs: env.leaseMs,
      pollMs: env.pollMs,
      maxAttempts: env.maxAttempts,
    });
    videoRoutes(app, {
      videos,
      blobs,
      storage,
      render,
      plays: playRecorder(db, logger),
      wake: driver.wake,
      perUser: { active: env.maxActive, total: env.maxVideos },
    });
    const stopRelay = startRelay(db, events, logger);
    return async () => {
      // A step cut short here is taken again by another replica once its lease expires.
      await driver.stop();
      await stopRelay();
      await Promise.all(sets.map((s) => s.close()));
    };
  },
});
