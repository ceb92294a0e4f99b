import { callService, errorFrom } from "../shared/serviceCall.ts";
import type { Logger } from "../shared/logger.ts";
import type { ReplicaSet } from "../shared/upstream.ts";

// The feedback loop's reading side: analytics counts the plays and watch time of delivered
// videos (from the content requests this service reports), and the orchestrator chooses the
// next video's scene length from them.

/** Play statistics of one user's videos, by the scene length they were made with. */
export interface VideoStats {
  by_scene_seconds: { scene_seconds: number; videos: number; plays: number; watch_ratio: number }[];
  /** The caller's chat tokens per day, the last seven days, oldest first (a chart scene). */
  tokens_by_day: { day: string; tokens: number }[];
}

export interface Insights {
  sceneSeconds(userId: string): Promise<{ value: number; reason: string }>;
  chart(
    userId: string,
  ): Promise<{ title: string; bars: { label: string; value: number }[] } | undefined>;
}

export const SCENE_SECONDS = [3, 5, 8] as const;
export const DEFAULT_SCENE_SECONDS = 5;
/** A share of each video watched at which a scene length is kept. */
const GOOD_ENOUGH = 0.6;

/**
 * The scene length for the next video: the default until something was played; the best-watched
 * length once it is watched well enough; else a length not tried yet, shorter ones first.
 */
export function chooseSceneSeconds(stats: VideoStats["by_scene_seconds"]): {
  value: number;
  reason: string;
} {
  const played = stats.filter((s) => s.plays > 0);
  if (played.length === 0)
    return { value: DEFAULT_SCENE_SECONDS, reason: "no plays recorded yet: the default" };
  const best = played.reduce((a, b) => (b.watch_ratio > a.watch_ratio ? b : a));
  const pct = (r: number) => `${Math.round(r * 100)}%`;
  if (best.watch_ratio >= GOOD_ENOUGH)
    return {
      value: best.scene_seconds,
      reason: `videos with ${best.scene_seconds} s scenes were watched ${pct(best.watch_ratio)} through, the best`,
    };
  const untried = [...SCENE_SECONDS]
    .sort((a, b) => a - b)
    .find((s) => !played.some((p) => p.scene_seconds === s));
  if (untried === undefined)
    return {
      value: best.scene_seconds,
      reason: `every length tried; ${best.scene_seconds} s scenes were watched most (${pct(best.watch_ratio)})`,
    };
  return {
    value: untried,
    reason: `videos with ${best.scene_seconds} s scenes were watched only ${pct(best.watch_ratio)} through: trying ${untried} s`,
  };
}

/** Insights from the analytics service; without it (unreachable), the defaults. */
export class AnalyticsInsights implements Insights {
  private readonly set: ReplicaSet;
  private readonly logger: Logger;
  constructor(set: ReplicaSet, logger: Logger) {
    this.set = set;
    this.logger = logger;
  }

  private async stats(userId: string): Promise<VideoStats | undefined> {
    try {
      const res = await callService(this.set, {
        method: "GET",
        path: `/internal/video-stats?user_id=${encodeURIComponent(userId)}`,
        retryable: true,
      });
      if (res.statusCode !== 200) throw await errorFrom(res.statusCode, res.body, this.set.name);
      return (await res.body.json()) as VideoStats;
    } catch (err) {
      // A video is still worth making without the statistics: the defaults stand in.
      this.logger.warn({ err }, "video: analytics unavailable, choosing without play statistics");
      return undefined;
    }
  }

  async sceneSeconds(userId: string) {
    const stats = await this.stats(userId);
    if (!stats)
      return { value: DEFAULT_SCENE_SECONDS, reason: "analytics unavailable: the default" };
    return chooseSceneSeconds(stats.by_scene_seconds);
  }

  async chart(userId: string) {
    const days = (await this.stats(userId))?.tokens_by_day ?? [];
    if (!days.some((d) => d.tokens > 0)) return undefined;
    return {
      title: "Your chat tokens, last 7 days",
      bars: days.map((d) => ({ label: d.day.slice(5), value: d.tokens })),
    };
  }
}
