import { Counter, Gauge, Histogram } from "prom-client";
import { ApiError } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import type { Metrics } from "../shared/metrics.ts";
import { keepLease, startWorkLoop, type WorkLoop } from "../shared/workLoop.ts";
import { putBytes, type BlobStore } from "../storage/blobs.ts";
import type { StorageClient } from "../storage/client.ts";
import type { CreateRender } from "../render/contract.ts";
import { StoryboardNotJson, type RenderClient, type StoryboardWriter } from "./clients.ts";
import type { Insights } from "./insights.ts";
import { StoryboardError, repairStoryboard, sceneCount, storyboardMessages } from "./storyboard.ts";
import type { VideoLease, VideoStore } from "./store.ts";

export interface DriverArgs {
  videos: VideoStore;
  blobs: BlobStore;
  render: RenderClient;
  writer: StoryboardWriter;
  storage: StorageClient;
  insights: Insights;
  logger: Logger;
  metrics: Metrics;
  leaseMs: number;
  pollMs: number;
  /** Tries of one step (a storyboard, a submission) before the video fails. */
  maxAttempts: number;
}

/** The video cannot be made: it fails at once with this code and message. */
class VideoError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

class LeaseLost extends Error {}

export function videoMetrics(metrics: Metrics, counts: () => Promise<Record<string, number>>) {
  return {
    finished: new Counter({
      name: "video_jobs_total",
      help: "Videos this replica finished, by outcome (succeeded, failed)",
      labelNames: ["outcome"] as const,
      registers: [metrics.registry],
    }),
    seconds: new Histogram({
      name: "video_make_seconds",
      help: "From a video's request to its content stored (succeeded videos)",
      buckets: [5, 10, 20, 30, 60, 120, 240, 480, 900],
      registers: [metrics.registry],
    }),
    videos: new Gauge({
      name: "videos",
      help: "Videos by status",
      labelNames: ["status"] as const,
      registers: [metrics.registry],
      async collect() {
        this.reset();
        for (const [status, n] of Object.entries(await counts())) this.set({ status }, n);
      },
    }),
  };
}

/**
 * The AI orchestrator's loop: any replica leases a video with a step due and takes it one step
 * on. Planning asks the chat flow for a storyboard, repairs or refuses it, and hands the scenes
 * to the render engine; then the replica that holds it follows the render and, once joined,
 * keeps the video in its own store. A replica killed mid-step loses its lease, and another
 * replica takes the step again: every step is safe to repeat (the render keeps its first
 * submission, the content is stored under the video's id).
 */
export function startDriver(a: DriverArgs): WorkLoop {
  const figures = videoMetrics(a.metrics, () => a.videos.counts());
  const held = (ok: boolean, id: string) => {
    if (!ok) throw new LeaseLost(id);
  };

  const plan = async (lease: VideoLease, signal: AbortSignal) => {
    const { video, owner } = lease;
    held(await a.videos.mark(lease, "planning", 0.02), video.id);
    const [sceneSeconds, chart] = await Promise.all([
      a.insights.sceneSeconds(owner.userId),
      a.insights.chart(owner.userId),
    ]);
    const request = {
      prompt: video.prompt,
      durationSeconds: video.duration_seconds,
      voice: video.voice,
      imageFileIds: video.image_file_ids,
      sceneSeconds: sceneSeconds.value,
      chart,
    };
    const raw = await a.writer.write(
      owner,
      {
        messages: storyboardMessages(request),
        scenes: sceneCount(
          request.durationSeconds,
          request.sceneSeconds,
          request.imageFileIds.length,
        ),
      },
      signal,
    );
    let storyboard;
    try {
      storyboard = repairStoryboard(raw, request);
    } catch (err) {
      if (err instanceof StoryboardError) throw new VideoError("storyboard_invalid", err.message);
      throw err;
    }
    const images = new Map<string, string>();
    for (const id of new Set(video.image_file_ids)) {
      const data = await a.storage.content(id);
      if (!data) throw new VideoError("file_not_found", `the picture ${id} is gone`);
      images.set(id, data.toString("base64"));
    }
    const render: CreateRender = {
      id: video.id,
      user_id: owner.userId,
      resolution: video.resolution,
      voice: video.voice,
      scenes: storyboard.scenes.map((s) => ({
        duration_seconds: s.duration_seconds,
        narration: video.voice ? s.narration : "",
        style: s.style,
        visual:
          s.visual.kind === "image"
            ? {
                kind: "image",
                image_base64: images.get(s.visual.file_id)!,
                caption: s.visual.caption,
              }
            : s.visual,
      })),
    };
    await a.render.submit(render);
    held(
      await a.videos.advance(lease, "rendering", 0.1, 0, {
        title: storyboard.title,
        scenes: storyboard.scenes,
        choices: { scene_seconds: sceneSeconds.value, reason: sceneSeconds.reason },
      }),
      video.id,
    );
  };

  const follow = async (lease: VideoLease) => {
    const { video } = lease;
    const render = await a.render.get(video.id);
    if (!render) {
      // The render service lost it (its data was reset): plan and submit again.
      held(await a.videos.advance(lease, "queued", 0, 0), video.id);
      return;
    }
    if (render.status === "failed")
      throw new VideoError(
        render.error?.code ?? "render_failed",
        render.error?.message ?? "render failed",
      );
    if (render.status !== "succeeded") {
      const status = render.status === "joining" ? "encoding" : "rendering";
      held(await a.videos.advance(lease, status, 0.1 + 0.85 * render.progress, a.pollMs), video.id);
      return;
    }
    const data = await a.render.content(video.id);
    await putBytes(a.blobs, video.id, data, "video/mp4");
    held(await a.videos.succeed(lease, video.id, data.length), video.id);
    figures.finished.inc({ outcome: "succeeded" });
    figures.seconds.observe(Date.now() / 1000 - video.created_at);
    // The clips and the render's copy are not needed any more; a failure here only leaves litter.
    await a.render
      .remove(video.id, true)
      .catch((err: unknown) =>
        a.logger.warn({ err, video: video.id }, "video: render cleanup failed"),
      );
  };

  const once = async (signal: AbortSignal): Promise<boolean> => {
    const lease = await a.videos.claim(a.leaseMs);
    if (!lease) return false;
    const log = a.logger.child({ video: lease.video.id, status: lease.video.status });
    const release = keepLease(a.leaseMs, () => a.videos.renew(lease, a.leaseMs), log);
    try {
      if (lease.video.status === "queued" || lease.video.status === "planning")
        await plan(lease, signal);
      else await follow(lease);
    } catch (err) {
      if (err instanceof LeaseLost || signal.aborted) return true;
      const permanent =
        err instanceof VideoError ||
        (err instanceof ApiError && err.status < 500 && err.status !== 429);
      const code =
        err instanceof VideoError || err instanceof ApiError
          ? err.code
          : err instanceof StoryboardNotJson
            ? "storyboard_invalid"
            : "internal_error";
      const message = (err as Error).message;
      if (permanent || lease.attempts >= a.maxAttempts) {
        await a.videos.fail(lease, { code, message });
        figures.finished.inc({ outcome: "failed" });
        log.warn({ code, message }, "video: failed");
      } else {
        await a.videos.retryLater(lease, Math.min(30_000, 1_000 * 2 ** lease.attempts));
        log.warn({ code, message, attempt: lease.attempts }, "video: step will be tried again");
      }
    } finally {
      release();
    }
    return true;
  };

  return startWorkLoop("video", a.pollMs, a.logger, once);
}
