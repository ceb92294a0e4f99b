import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Counter, Gauge, Histogram } from "prom-client";
import type { Logger } from "../shared/logger.ts";
import type { Metrics } from "../shared/metrics.ts";
import { keepLease, startWorkLoop, type WorkLoop } from "../shared/workLoop.ts";
import { putBytes, type BlobStore } from "../storage/blobs.ts";
import { MediaError, joinClips, renderScene, type SceneSpec } from "./media.ts";
import { RENDER_QUEUE_METRIC, type QueueState } from "./contract.ts";
import type { Claim, RenderStore } from "./store.ts";

export interface RenderWorkerArgs {
  renders: RenderStore;
  blobs: BlobStore;
  logger: Logger;
  metrics: Metrics;
  /** This replica's name in the attempts table. */
  worker: string;
  /** How long a claim lasts without renewal; a killed worker's scene is taken again after it. */
  leaseMs: number;
  pollMs: number;
  /** Tries of one scene before its render fails. */
  maxAttempts: number;
}

/** Lost the lease: another worker has the scene now, so this one stops touching it. */
class LeaseLost extends Error {}

export function renderMetrics(metrics: Metrics, queue: () => Promise<QueueState>) {
  // One read of the queue per scrape, shared by the gauges that show it.
  let reading: Promise<QueueState> | undefined;
  const read = () => {
    reading ??= queue().finally(() => setTimeout(() => (reading = undefined), 100));
    return reading;
  };
  return {
    jobs: new Counter({
      name: "render_jobs_total",
      help: "Scene renders and joins this replica finished, by kind (scene, join) and outcome (succeeded, retried, failed, lost)",
      labelNames: ["kind", "outcome"] as const,
      registers: [metrics.registry],
    }),
    seconds: new Histogram({
      name: "render_seconds",
      help: "Time to render one scene or join one video, by kind",
      labelNames: ["kind"] as const,
      buckets: [0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120],
      registers: [metrics.registry],
    }),
    waiting: new Gauge({
      name: RENDER_QUEUE_METRIC,
      help: "Scenes queued for a render worker (what the replicas scale on)",
      registers: [metrics.registry],
      async collect() {
        this.set((await read()).scenes_waiting);
      },
    }),
    progress: new Gauge({
      name: "render_progress",
      help: "Each render in the making (a video's id), 0-1: its rendered scenes, then the join",
      labelNames: ["render"] as const,
      registers: [metrics.registry],
      async collect() {
        this.reset();
        for (const r of (await read()).renders) this.set({ render: r.id }, r.progress);
      },
    }),
  };
}

/**
 * Claims and renders scenes and joins, one at a time per replica (each ffmpeg runs on one
 * thread; replicas are the unit of parallelism). A join is taken before a scene, so a video
 * whose scenes are all done is finished before more scenes start.
 */
export function startRenderWorker(a: RenderWorkerArgs): WorkLoop {
  const figures = renderMetrics(a.metrics, () => a.renders.queue());
  const work = async (claim: Claim, workDir: string, signal: AbortSignal): Promise<void> => {
    const opts = { resolution: claim.resolution, voice: claim.voice, workDir, signal };
    const held = (ok: boolean) => {
      if (!ok) throw new LeaseLost(claim.renderId);
    };
    if (claim.index === undefined) {
      const clips = [];
      for (const key of await a.renders.clips(claim.renderId)) {
        const clip = await a.blobs.get(key);
        if (!clip) throw new MediaError(`clip ${key} is missing from the blob store`);
        clips.push(clip);
      }
      const video = await joinClips(clips, opts);
      await putBytes(a.blobs, claim.attemptId, video, "video/mp4");
      held(await a.renders.joined(claim, claim.attemptId, video.length));
      return;
    }
    const stored = claim.scene!;
    let visual: SceneSpec["visual"];
    if (stored.visual.kind === "image") {
      const image = await a.blobs.get(stored.visual.imageKey);
      if (!image) throw new MediaError(`the scene's image ${stored.visual.imageKey} is missing`);
      visual = { kind: "image", image, caption: stored.visual.caption };
    } else visual = stored.visual;
    const started = performance.now();
    const clip = await renderScene(
      {
        index: claim.index,
        durationSeconds: stored.duration_seconds,
        narration: stored.narration,
        visual,
        style: stored.style,
      },
      opts,
    );
    await putBytes(a.blobs, claim.attemptId, clip, "video/mp4");
    held(await a.renders.sceneRendered(claim, claim.attemptId, performance.now() - started));
  };

  const once = async (signal: AbortSignal): Promise<boolean> => {
    const claim =
      (await a.renders.claimJoin(a.leaseMs, a.worker)) ??
      (await a.renders.claimScene(a.leaseMs, a.worker));
    if (!claim) return false;
    const kind = claim.index === undefined ? "join" : "scene";
    const log = a.logger.child({
      render: claim.renderId,
      scene: claim.index,
      attempt: claim.attempts,
    });
    const release = keepLease(a.leaseMs, () => a.renders.renew(claim, a.leaseMs), log);
    log.info(`render: ${kind} started`);
    const workDir = await mkdtemp(join(tmpdir(), "render-"));
    const end = figures.seconds.startTimer({ kind });
    try {
      await work(claim, workDir, signal);
      end();
      figures.jobs.inc({ kind, outcome: "succeeded" });
      await a.renders.attemptEnded(claim.attemptId, "succeeded");
      log.info(`render: ${kind} done`);
    } catch (err) {
      const message = (err as Error).message;
      if (err instanceof LeaseLost || signal.aborted) {
        // Stopping: the lease runs out and another replica renders it again.
        figures.jobs.inc({ kind, outcome: "lost" });
        await a.renders.attemptEnded(claim.attemptId, "lost", message).catch(() => undefined);
        log.warn(`render: ${kind} given up (${signal.aborted ? "stopping" : "lease lost"})`);
        return true;
      }
      const error = {
        code: err instanceof MediaError ? "render_failed" : "internal_error",
        message,
      };
      const final = err instanceof MediaError || claim.attempts >= a.maxAttempts;
      await a.renders.attemptEnded(claim.attemptId, final ? "failed" : "retried", message);
      figures.jobs.inc({ kind, outcome: final ? "failed" : "retried" });
      if (kind === "join") await a.renders.joinFailed(claim, error);
      else if (final) await a.renders.sceneFailed(claim, error);
      else
        await a.renders.sceneRetryLater(
          claim,
          Math.min(30_000, 1_000 * 2 ** claim.attempts),
          message,
        );
      log.warn(
        { code: error.code, message },
        `render: ${kind} ${final ? "failed" : "will be retried"}`,
      );
    } finally {
      release();
      await rm(workDir, { recursive: true, force: true });
    }
    return true;
  };

  return startWorkLoop("render", a.pollMs, a.logger, once);
}
