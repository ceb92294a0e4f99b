import { randomBytes } from "node:crypto";
import { createOnce, type CreateResult, type Idempotency } from "../shared/idempotency.ts";
import { newId } from "../shared/ids.ts";
import { OUTBOX_MIGRATION } from "../shared/outbox.ts";
import { ownedPage, type Page } from "../shared/pagination.ts";
import type { Principal } from "../shared/principal.ts";
import type { Db } from "../shared/sql/db.ts";
import type { CreateVideo, Scene, Video, VideoLimits, VideoStatus } from "./contract.ts";

// The video database: each video, its storyboard and the orchestrator's choices, in the video
// service's own schema. A video moves queued -> planning -> rendering -> encoding -> succeeded
// (or failed), each step taken by whichever replica leases it; the lease's token fences writes.

export const migrations = [
  `
CREATE TABLE videos (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  prompt TEXT NOT NULL,
  duration_seconds INTEGER NOT NULL,
  resolution TEXT NOT NULL,
  voice INTEGER NOT NULL,
  image_files TEXT NOT NULL,
  principal TEXT NOT NULL,
  status TEXT NOT NULL,
  progress DOUBLE PRECISION NOT NULL DEFAULT 0,
  title TEXT,
  scenes TEXT,
  choices TEXT,
  content_key TEXT,
  bytes BIGINT,
  error TEXT,
  lease_token TEXT,
  lease_until BIGINT,
  run_after BIGINT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  idempotency_key TEXT,
  request_hash TEXT,
  created_at BIGINT NOT NULL,
  finished_at BIGINT,
  UNIQUE (user_id, idempotency_key)
);
CREATE INDEX videos_user ON videos (user_id, id);
CREATE INDEX videos_due ON videos (status, run_after);
`,
  // Content requests, reported to analytics for the feedback loop (plays.ts).
  OUTBOX_MIGRATION,
];

interface Row {
  id: string;
  user_id: string;
  prompt: string;
  duration_seconds: number | string;
  resolution: string;
  voice: number | string;
  image_files: string;
  principal: string;
  status: string;
  progress: number | string;
  title: string | null;
  scenes: string | null;
  choices: string | null;
  content_key: string | null;
  bytes: number | string | null;
  error: string | null;
  attempts: number | string;
  request_hash: string | null;
  created_at: number | string;
  finished_at: number | string | null;
}

const toVideo = (r: Row): Video => ({
  id: r.id,
  object: "video",
  status: r.status as VideoStatus,
  progress: Number(r.progress),
  prompt: r.prompt,
  duration_seconds: Number(r.duration_seconds),
  resolution: r.resolution as Video["resolution"],
  voice: Number(r.voice) === 1,
  image_file_ids: JSON.parse(r.image_files) as string[],
  title: r.title,
  scenes: r.scenes === null ? [] : (JSON.parse(r.scenes) as Scene[]),
  choices: r.choices === null ? null : (JSON.parse(r.choices) as Video["choices"]),
  bytes: r.bytes === null ? null : Number(r.bytes),
  error: r.error === null ? null : (JSON.parse(r.error) as Video["error"]),
  created_at: Math.floor(Number(r.created_at) / 1000),
  finished_at: r.finished_at === null ? null : Math.floor(Number(r.finished_at) / 1000),
});

/** A video one replica holds for one step of its way. */
export interface VideoLease {
  video: Video;
  /** The video's owner, as the gateway verified them: the storyboard is asked for as them. */
  owner: Principal;
  token: string;
  attempts: number;
}

/** The user has as many videos as VideoLimits allows (the message says which limit). */
export class VideoLimitReached extends Error {}

export function videoStore(db: Db, now: () => number = Date.now) {
  const lock = db.engine === "postgres" ? " FOR UPDATE SKIP LOCKED" : "";
  const fenced = async (lease: VideoLease, set: string, params: unknown[]): Promise<boolean> => {
    const rows = await db.query(
      `UPDATE videos SET ${set} WHERE id = $1 AND lease_token = $2 RETURNING id`,
      [lease.video.id, lease.token, ...params],
    );
    return rows.length === 1;
  };
  return {
    create(
      owner: Principal,
      input: CreateVideo,
      idempotency: Idempotency | undefined,
      limits: VideoLimits,
    ): Promise<CreateResult<Video>> {
      return createOnce<Row, Video>(db, {
        idempotency,
        table: "videos",
        owner: owner.userId,
        toValue: toVideo,
        create: async (tx) => {
          const { userId } = owner;
          if (tx.engine === "postgres")
            await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`videos:${userId}`]);
          const [held] = await tx.query<{ total: number | string; active: number | string }>(
            `SELECT COUNT(*) AS total,
               SUM(CASE WHEN status IN ('succeeded', 'failed') THEN 0 ELSE 1 END) AS active
             FROM videos WHERE user_id = $1`,
            [userId],
          );
          if (Number(held!.active ?? 0) >= limits.active)
            throw new VideoLimitReached(
              `you have ${limits.active} videos in the making, the most at once; wait for one to finish`,
            );
          if (Number(held!.total) >= limits.total)
            throw new VideoLimitReached(
              `you have ${limits.total} videos, the most a user may keep; delete one first`,
            );
          const id = newId("vid");
          const at = now();
          await tx.query(
            `INSERT INTO videos (id, user_id, prompt, duration_seconds, resolution, voice, image_files,
               principal, status, run_after, idempotency_key, request_hash, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $11, 'queued', $8, $9, $10, $8)`,
            [
              id,
              userId,
              input.prompt,
              input.duration_seconds,
              input.resolution,
              input.voice ? 1 : 0,
              JSON.stringify(input.image_file_ids),
              at,
              idempotency?.key ?? null,
              idempotency?.requestHash ?? null,
              JSON.stringify(owner),
            ],
          );
          const [row] = await tx.query<Row>("SELECT * FROM videos WHERE id = $1", [id]);
          return toVideo(row!);
        },
      });
    },

    async get(userId: string, id: string): Promise<Video | undefined> {
      const [row] = await db.query<Row>("SELECT * FROM videos WHERE user_id = $1 AND id = $2", [
        userId,
        id,
      ]);
      return row && toVideo(row);
    },

    /** The blob of a succeeded video, for its content route. */
    async content(
      userId: string,
      id: string,
    ): Promise<{ video: Video; key: string | null } | undefined> {
      const [row] = await db.query<Row>("SELECT * FROM videos WHERE user_id = $1 AND id = $2", [
        userId,
        id,
      ]);
      return row && { video: toVideo(row), key: row.content_key };
    },

    list(userId: string, page: { limit: number; after?: string }): Promise<Page<Video>> {
      return ownedPage(db, "videos", userId, page, toVideo);
    },

    /** Deletes the row; answers its content's blob key so the caller can drop the bytes. */
    async remove(userId: string, id: string): Promise<{ key: string | null } | undefined> {
      const [row] = await db.query<Row>(
        "DELETE FROM videos WHERE user_id = $1 AND id = $2 RETURNING *",
        [userId, id],
      );
      return row && { key: row.content_key };
    },

    /**
     * Takes a video with a step due: not finished, due, and not leased by a live replica. One
     * statement, so two replicas never take the same one.
     */
    async claim(leaseMs: number): Promise<VideoLease | undefined> {
      const at = now();
      const token = randomBytes(12).toString("hex");
      const [row] = await db.query<Row>(
        `UPDATE videos SET lease_token = $1, lease_until = $2, attempts = attempts + 1
         WHERE id = (
           SELECT id FROM videos
           WHERE status NOT IN ('succeeded', 'failed') AND run_after <= $3
             AND (lease_until IS NULL OR lease_until < $3)
           ORDER BY run_after, id LIMIT 1${lock}
         )
         RETURNING *`,
        [token, at + leaseMs, at],
      );
      return (
        row && {
          video: toVideo(row),
          owner: JSON.parse(row.principal) as Principal,
          token,
          attempts: Number(row.attempts),
        }
      );
    },

    renew(lease: VideoLease, leaseMs: number): Promise<boolean> {
      return fenced(lease, "lease_until = $3", [now() + leaseMs]);
    },

    /** Shows where a step stands while the lease is held. */
    mark(lease: VideoLease, status: VideoStatus, progress: number): Promise<boolean> {
      return fenced(lease, "status = $3, progress = $4", [status, progress]);
    },

    /** Ends this step: the new state, and when the next step is due. Resets the attempt count. */
    advance(
      lease: VideoLease,
      status: VideoStatus,
      progress: number,
      dueInMs: number,
      set: { title?: string; scenes?: Scene[]; choices?: Video["choices"] } = {},
    ): Promise<boolean> {
      return fenced(
        lease,
        `status = $3, progress = $4, run_after = $5, lease_token = NULL, lease_until = NULL,
         attempts = 0,
         title = COALESCE($6, title), scenes = COALESCE($7, scenes), choices = COALESCE($8, choices)`,
        [
          status,
          progress,
          now() + dueInMs,
          set.title ?? null,
          set.scenes ? JSON.stringify(set.scenes) : null,
          set.choices ? JSON.stringify(set.choices) : null,
        ],
      );
    },

    /** Lets go of a step that will be tried again (a passing failure), after `delayMs`. */
    retryLater(lease: VideoLease, delayMs: number): Promise<boolean> {
      return fenced(lease, "run_after = $3, lease_token = NULL, lease_until = NULL", [
        now() + delayMs,
      ]);
    },

    succeed(lease: VideoLease, key: string, bytes: number): Promise<boolean> {
      return fenced(
        lease,
        `status = 'succeeded', progress = 1, content_key = $3, bytes = $4, finished_at = $5,
         lease_token = NULL, lease_until = NULL`,
        [key, bytes, now()],
      );
    },

    fail(lease: VideoLease, error: { code: string; message: string }): Promise<boolean> {
      return fenced(
        lease,
        "status = 'failed', error = $3, finished_at = $4, lease_token = NULL, lease_until = NULL",
        [JSON.stringify(error), now()],
      );
    },

    /** Videos by status, for the status page and /metrics. */
    async counts(): Promise<Record<string, number>> {
      const rows = await db.query<{ status: string; n: number | string }>(
        "SELECT status, COUNT(*) AS n FROM videos GROUP BY status",
      );
      return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
    },
  };
}

export type VideoStore = ReturnType<typeof videoStore>;
