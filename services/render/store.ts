import { randomBytes } from "node:crypto";
import { newId } from "../shared/ids.ts";
import type { Db } from "../shared/sql/db.ts";
import type {
  CreateRender,
  QueueState,
  Render,
  RenderStatus,
  SceneBody,
  SceneStatus,
} from "./contract.ts";

// The assets database: renders, their scenes (each a job a worker leases) and every attempt at
// one, in the render service's own schema. A lease's token fences every write, so a worker that
// lost its lease (it stalled, or was thought dead) changes nothing.

export const migrations = [
  `
CREATE TABLE renders (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  resolution TEXT NOT NULL,
  voice INTEGER NOT NULL,
  scene_count INTEGER NOT NULL,
  status TEXT NOT NULL,
  lease_token TEXT,
  lease_until BIGINT,
  attempts INTEGER NOT NULL DEFAULT 0,
  output_key TEXT,
  output_bytes BIGINT,
  error TEXT,
  created_at BIGINT NOT NULL,
  finished_at BIGINT
);
CREATE INDEX renders_status ON renders (status, created_at);
CREATE TABLE scenes (
  render_id TEXT NOT NULL,
  idx INTEGER NOT NULL,
  spec TEXT NOT NULL,
  status TEXT NOT NULL,
  lease_token TEXT,
  lease_until BIGINT,
  attempts INTEGER NOT NULL DEFAULT 0,
  run_after BIGINT NOT NULL,
  clip_key TEXT,
  render_ms INTEGER,
  error TEXT,
  PRIMARY KEY (render_id, idx)
);
CREATE INDEX scenes_ready ON scenes (status, run_after);
CREATE TABLE attempts (
  id TEXT PRIMARY KEY,
  render_id TEXT NOT NULL,
  idx INTEGER,
  worker TEXT NOT NULL,
  started_at BIGINT NOT NULL,
  finished_at BIGINT,
  outcome TEXT,
  error TEXT
);
CREATE INDEX attempts_render ON attempts (render_id);
`,
];

/** A scene as stored: the image, if any, is a blob of its own (`imageKey`). */
export type StoredScene = Omit<SceneBody, "visual"> & {
  visual:
    | Exclude<SceneBody["visual"], { kind: "image" }>
    | { kind: "image"; imageKey: string; caption?: string };
};

interface RenderRow {
  id: string;
  user_id: string;
  resolution: string;
  voice: number | string;
  scene_count: number | string;
  status: string;
  attempts: number | string;
  output_key: string | null;
  output_bytes: number | string | null;
  error: string | null;
}

interface SceneRow {
  render_id: string;
  idx: number | string;
  spec: string;
  status: string;
  attempts: number | string;
  clip_key: string | null;
  render_ms: number | string | null;
}

/** A scene or a join that one worker holds until `token` is fenced out. */
export interface Claim {
  renderId: string;
  /** The scene's index; absent for the join. */
  index?: number;
  token: string;
  attempts: number;
  /** This attempt's id: the clip it writes is stored under it, so attempts never share a blob. */
  attemptId: string;
  resolution: "640x360" | "1280x720";
  voice: boolean;
  scene?: StoredScene;
}

export const imageKeyOf = (renderId: string, index: number) => `img-${renderId}-${index}`;

export function renderStore(db: Db, now: () => number = Date.now) {
  const lock = db.engine === "postgres" ? " FOR UPDATE SKIP LOCKED" : "";
  const toRender = (r: RenderRow, scenes: SceneRow[]): Render => {
    const rendered = scenes.filter((s) => s.status === "rendered").length;
    const status = r.status as RenderStatus;
    // The join weighs as much as one scene.
    const progress = status === "succeeded" ? 1 : rendered / (Number(r.scene_count) + 1);
    return {
      id: r.id,
      status,
      progress: Math.round(progress * 1000) / 1000,
      scenes: scenes.map((s) => ({
        index: Number(s.idx),
        status: s.status as SceneStatus,
        attempts: Number(s.attempts),
        render_ms: s.render_ms === null ? null : Number(s.render_ms),
      })),
      output_bytes: r.output_bytes === null ? null : Number(r.output_bytes),
      error: r.error === null ? null : (JSON.parse(r.error) as Render["error"]),
    };
  };
  const attempt = async (claim: { renderId: string; index?: number }, worker: string) => {
    const id = newId("rat");
    await db.query(
      "INSERT INTO attempts (id, render_id, idx, worker, started_at) VALUES ($1, $2, $3, $4, $5)",
      [id, claim.renderId, claim.index ?? null, worker, now()],
    );
    return id;
  };

  return {
    /** Stores a render and queues its scenes; a render with this id already there is kept as it is. */
    async create(input: CreateRender, putImage: (key: string, data: Buffer) => Promise<void>) {
      const [existing] = await db.query<{ id: string }>("SELECT id FROM renders WHERE id = $1", [
        input.id,
      ]);
      if (existing) return false;
      const scenes: StoredScene[] = [];
      for (const [index, scene] of input.scenes.entries()) {
        if (scene.visual.kind !== "image") {
          scenes.push({ ...scene, visual: scene.visual });
          continue;
        }
        // Before the rows: a render whose rows exist always has its images.
        const imageKey = imageKeyOf(input.id, index);
        await putImage(imageKey, Buffer.from(scene.visual.image_base64, "base64"));
        const { caption } = scene.visual;
        scenes.push({ ...scene, visual: { kind: "image", imageKey, caption } });
      }
      return db.transaction(async (tx) => {
        const at = now();
        const inserted = await tx.query(
          `INSERT INTO renders (id, user_id, resolution, voice, scene_count, status, created_at)
           VALUES ($1, $2, $3, $4, $5, 'rendering', $6) ON CONFLICT (id) DO NOTHING RETURNING id`,
          [input.id, input.user_id, input.resolution, input.voice ? 1 : 0, scenes.length, at],
        );
        if (inserted.length === 0) return false;
        for (const [index, scene] of scenes.entries())
          await tx.query(
            `INSERT INTO scenes (render_id, idx, spec, status, run_after) VALUES ($1, $2, $3, 'queued', $4)`,
            [input.id, index, JSON.stringify(scene), at],
          );
        return true;
      });
    },

    async get(id: string): Promise<Render | undefined> {
      const [r] = await db.query<RenderRow>("SELECT * FROM renders WHERE id = $1", [id]);
      if (!r) return undefined;
      const scenes = await db.query<SceneRow>(
        "SELECT * FROM scenes WHERE render_id = $1 ORDER BY idx",
        [id],
      );
      return toRender(r, scenes);
    },

    async output(id: string): Promise<string | undefined> {
      const [r] = await db.query<RenderRow>(
        "SELECT * FROM renders WHERE id = $1 AND status = 'succeeded'",
        [id],
      );
      return r?.output_key ?? undefined;
    },

    /**
     * Takes a due scene: queued, or rendering under a lease that expired (its worker died). One
     * statement, so two workers never take the same one (SKIP LOCKED; SQLite has one writer).
     */
    async claimScene(leaseMs: number, worker: string): Promise<Claim | undefined> {
      const at = now();
      const token = randomBytes(12).toString("hex");
      const [s] = await db.query<SceneRow>(
        `UPDATE scenes SET status = 'rendering', lease_token = $1, lease_until = $2, attempts = attempts + 1
         WHERE (render_id, idx) = (
           SELECT render_id, idx FROM scenes
           WHERE (status = 'queued' AND run_after <= $3) OR (status = 'rendering' AND lease_until < $3)
           ORDER BY run_after, render_id, idx LIMIT 1${lock}
         )
         RETURNING *`,
        [token, at + leaseMs, at],
      );
      if (!s) return undefined;
      const [r] = await db.query<RenderRow>("SELECT * FROM renders WHERE id = $1", [s.render_id]);
      const claim = {
        renderId: s.render_id,
        index: Number(s.idx),
        token,
        attempts: Number(s.attempts),
        resolution: r!.resolution as Claim["resolution"],
        voice: Number(r!.voice) === 1,
        scene: JSON.parse(s.spec) as StoredScene,
      };
      return { ...claim, attemptId: await attempt(claim, worker) };
    },

    /** Takes a render whose scenes are all rendered and that no live worker is joining. */
    async claimJoin(leaseMs: number, worker: string): Promise<Claim | undefined> {
      const at = now();
      const token = randomBytes(12).toString("hex");
      const [r] = await db.query<RenderRow>(
        `UPDATE renders SET lease_token = $1, lease_until = $2, attempts = attempts + 1
         WHERE id = (
           SELECT id FROM renders
           WHERE status = 'joining' AND (lease_until IS NULL OR lease_until < $3)
           ORDER BY created_at LIMIT 1${lock}
         )
         RETURNING *`,
        [token, at + leaseMs, at],
      );
      if (!r) return undefined;
      const claim = {
        renderId: r.id,
        token,
        attempts: Number(r.attempts),
        resolution: r.resolution as Claim["resolution"],
        voice: Number(r.voice) === 1,
      };
      return { ...claim, attemptId: await attempt(claim, worker) };
    },

    /** Extends a lease still held; false when it was lost (then stop working on it). */
    async renew(claim: Claim, leaseMs: number): Promise<boolean> {
      const rows =
        claim.index === undefined
          ? await db.query(
              "UPDATE renders SET lease_until = $3 WHERE id = $1 AND lease_token = $2 AND status = 'joining' RETURNING id",
              [claim.renderId, claim.token, now() + leaseMs],
            )
          : await db.query(
              `UPDATE scenes SET lease_until = $4
               WHERE render_id = $1 AND idx = $2 AND lease_token = $3 AND status = 'rendering' RETURNING idx`,
              [claim.renderId, claim.index, claim.token, now() + leaseMs],
            );
      return rows.length === 1;
    },

    /**
     * Records the scene's clip, if the lease still holds: the one clip the join will use. The
     * last scene to finish moves the render on to its join, in the same transaction.
     */
    sceneRendered(claim: Claim, clipKey: string, ms: number): Promise<boolean> {
      return db.transaction(async (tx) => {
        const rows = await tx.query(
          `UPDATE scenes SET status = 'rendered', clip_key = $4, render_ms = $5, error = NULL,
             lease_token = NULL, lease_until = NULL
           WHERE render_id = $1 AND idx = $2 AND lease_token = $3 AND status = 'rendering' RETURNING idx`,
          [claim.renderId, claim.index, claim.token, clipKey, Math.round(ms)],
        );
        if (rows.length !== 1) return false;
        await tx.query(
          `UPDATE renders SET status = 'joining' WHERE id = $1 AND status = 'rendering'
             AND NOT EXISTS (SELECT 1 FROM scenes WHERE render_id = $1 AND status <> 'rendered')`,
          [claim.renderId],
        );
        return true;
      });
    },

    /** A scene that cannot render fails its whole render: a video is never joined half-way. */
    sceneFailed(claim: Claim, error: { code: string; message: string }): Promise<boolean> {
      return db.transaction(async (tx) => {
        const rows = await tx.query(
          `UPDATE scenes SET status = 'failed', error = $4, lease_token = NULL, lease_until = NULL
           WHERE render_id = $1 AND idx = $2 AND lease_token = $3 AND status = 'rendering' RETURNING idx`,
          [claim.renderId, claim.index, claim.token, JSON.stringify(error)],
        );
        if (rows.length !== 1) return false;
        await tx.query(
          "UPDATE renders SET status = 'failed', error = $2, finished_at = $3 WHERE id = $1 AND status = 'rendering'",
          [
            claim.renderId,
            JSON.stringify({ ...error, message: `scene ${claim.index}: ${error.message}` }),
            now(),
          ],
        );
        return true;
      });
    },

    /** Back to the queue after a passing failure, due again after `delayMs`. */
    async sceneRetryLater(claim: Claim, delayMs: number, message: string): Promise<boolean> {
      const rows = await db.query(
        `UPDATE scenes SET status = 'queued', run_after = $4, error = $5, lease_token = NULL, lease_until = NULL
         WHERE render_id = $1 AND idx = $2 AND lease_token = $3 AND status = 'rendering' RETURNING idx`,
        [claim.renderId, claim.index, claim.token, now() + delayMs, message],
      );
      return rows.length === 1;
    },

    /** The clips of a render, in scene order. */
    async clips(renderId: string): Promise<string[]> {
      const rows = await db.query<{ clip_key: string }>(
        "SELECT clip_key FROM scenes WHERE render_id = $1 AND status = 'rendered' ORDER BY idx",
        [renderId],
      );
      return rows.map((r) => r.clip_key);
    },

    async joined(claim: Claim, outputKey: string, bytes: number): Promise<boolean> {
      const rows = await db.query(
        `UPDATE renders SET status = 'succeeded', output_key = $3, output_bytes = $4, finished_at = $5,
           lease_token = NULL, lease_until = NULL
         WHERE id = $1 AND lease_token = $2 AND status = 'joining' RETURNING id`,
        [claim.renderId, claim.token, outputKey, bytes, now()],
      );
      return rows.length === 1;
    },

    async joinFailed(claim: Claim, error: { code: string; message: string }): Promise<boolean> {
      const rows = await db.query(
        `UPDATE renders SET status = 'failed', error = $3, finished_at = $4, lease_token = NULL, lease_until = NULL
         WHERE id = $1 AND lease_token = $2 AND status = 'joining' RETURNING id`,
        [claim.renderId, claim.token, JSON.stringify(error), now()],
      );
      return rows.length === 1;
    },

    async attemptEnded(id: string, outcome: string, error?: string): Promise<void> {
      await db.query(
        "UPDATE attempts SET finished_at = $2, outcome = $3, error = $4 WHERE id = $1",
        [id, now(), outcome, error ?? null],
      );
    },

    /**
     * The blobs a render holds (its images, every attempt's clip, its output); `forget` deletes
     * its rows as well, else the render and its attempts stay as the record of how it was made.
     */
    blobsOf(id: string, forget: boolean): Promise<string[]> {
      return db.transaction(async (tx) => {
        const scenes = await tx.query<SceneRow>("SELECT * FROM scenes WHERE render_id = $1", [id]);
        const attempts = await tx.query<{ id: string }>(
          "SELECT id FROM attempts WHERE render_id = $1",
          [id],
        );
        const [r] = await tx.query<RenderRow>("SELECT * FROM renders WHERE id = $1", [id]);
        if (forget) {
          await tx.query("DELETE FROM attempts WHERE render_id = $1", [id]);
          await tx.query("DELETE FROM scenes WHERE render_id = $1", [id]);
          await tx.query("DELETE FROM renders WHERE id = $1", [id]);
        } else await tx.query("UPDATE renders SET output_key = NULL WHERE id = $1", [id]);
        const images = scenes
          .filter((s) => (JSON.parse(s.spec) as StoredScene).visual.kind === "image")
          .map((s) => imageKeyOf(id, Number(s.idx)));
        return [...images, ...attempts.map((a) => a.id), ...(r?.output_key ? [r.output_key] : [])];
      });
    },

    async queue(): Promise<QueueState> {
      const at = now();
      const [counts] = await db.query<{ waiting: number | string; running: number | string }>(
        `SELECT
           SUM(CASE WHEN status = 'queued' OR (status = 'rendering' AND lease_until < $1) THEN 1 ELSE 0 END) AS waiting,
           SUM(CASE WHEN status = 'rendering' AND lease_until >= $1 THEN 1 ELSE 0 END) AS running
         FROM scenes`,
        [at],
      );
      const active = await db.query<RenderRow>(
        "SELECT * FROM renders WHERE status IN ('rendering', 'joining') ORDER BY created_at LIMIT 50",
      );
      const renders = [];
      for (const r of active) {
        const scenes = await db.query<SceneRow>("SELECT * FROM scenes WHERE render_id = $1", [
          r.id,
        ]);
        const { id, status, progress } = toRender(r, scenes);
        renders.push({ id, status, progress });
      }
      return {
        scenes_waiting: Number(counts?.waiting ?? 0),
        scenes_rendering: Number(counts?.running ?? 0),
        joins_waiting: active.filter((r) => r.status === "joining").length,
        renders,
      };
    },
  };
}

export type RenderStore = ReturnType<typeof renderStore>;
