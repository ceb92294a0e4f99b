import { VIDEO_PLAYED_EVENT, VIDEO_PLAYS_TOPIC, type VideoPlayed } from "../analytics/contract.ts";
import type { Logger } from "../shared/logger.ts";
import { enqueueEvent } from "../shared/outbox.ts";
import type { Principal } from "../shared/principal.ts";
import type { Db } from "../shared/sql/db.ts";
import type { Video } from "./contract.ts";

export interface PlayRecorder {
  record(owner: Principal, video: Video, range: { start: number; end: number }, size: number): void;
}

/**
 * Reports each content request to analytics (business.video-plays) through the outbox, so that a report survives a crash of the
 * replica that served it. Watch time is read off the bytes served: a browser's `<video>` asks for
 * what it plays, a range at a time, so the share of bytes fetched stands for the share watched.
 */
export function playRecorder(db: Db, logger: Logger): PlayRecorder {
  return {
    record(owner, video, range, size) {
      const played: VideoPlayed = {
        userId: owner.userId,
        videoId: video.id,
        sceneSeconds: video.choices?.scene_seconds ?? 0,
        durationSeconds: video.duration_seconds,
        fromStart: range.start === 0,
        watchedSeconds:
          Math.round(((range.end - range.start + 1) / size) * video.duration_seconds * 1000) / 1000,
      };
      // The answer does not wait for the report; a report that cannot be written is logged.
      enqueueEvent(db, VIDEO_PLAYS_TOPIC, video.id, VIDEO_PLAYED_EVENT, played).catch(
        (err: unknown) => logger.warn({ err, video: video.id }, "video: play not recorded"),
      );
    },
  };
}
