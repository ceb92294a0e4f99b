import { z } from "zod";

// The render service's internal API (only the video service calls it, catalog `calls`): a render
// is one video's scenes, each rendered by whichever worker claims it, then joined.

const colour = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'must be a colour "#rrggbb"');
const line = (max: number) => z.string().max(max);

export const visualBody = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("title"), title: line(200).min(1), subtitle: line(300).optional() }),
  z.object({ kind: z.literal("caption"), caption: line(600).min(1) }),
  z.object({
    kind: z.literal("chart"),
    title: line(200).min(1),
    bars: z
      .array(z.object({ label: line(40), value: z.number().min(0).max(1e12) }))
      .min(1)
      .max(8),
  }),
  z.object({
    kind: z.literal("image"),
    /** The picture's bytes, base64: the render service keeps them as a blob of its own. */
    image_base64: z.string().min(1).max(12_000_000),
    caption: line(600).optional(),
  }),
]);

export const sceneBody = z.object({
  duration_seconds: z.number().min(0.5).max(60),
  narration: line(2_000),
  visual: visualBody,
  style: z.object({ background: colour, foreground: colour, accent: colour }),
});
export type SceneBody = z.output<typeof sceneBody>;

export const createRenderBody = z.object({
  /** The video's id: a repeat with the same id answers the render there is. */
  id: z.string().regex(/^vid_[0-9a-f]{24}$/, "must be a video id"),
  user_id: z.string().min(1).max(200),
  resolution: z.enum(["640x360", "1280x720"]),
  voice: z.boolean(),
  scenes: z.array(sceneBody).min(1).max(60),
});
export type CreateRender = z.output<typeof createRenderBody>;

export const renderStatuses = ["rendering", "joining", "succeeded", "failed"] as const;
export type RenderStatus = (typeof renderStatuses)[number];
export const sceneStatuses = ["queued", "rendering", "rendered", "failed"] as const;
export type SceneStatus = (typeof sceneStatuses)[number];

/** A render as `GET /internal/renders/{id}` shows it. */
export interface Render {
  id: string;
  status: RenderStatus;
  /** 0-1: rendered scenes, then the join. */
  progress: number;
  scenes: { index: number; status: SceneStatus; attempts: number; render_ms: number | null }[];
  output_bytes: number | null;
  error: { code: string; message: string } | null;
}

/** The gauge of the scenes waiting: what the catalog's `queueScaling` for render names. */
export const RENDER_QUEUE_METRIC = "render_scenes_waiting";

/** The queue as the status page and the scaling policies read it (`GET /internal/queue`). */
export interface QueueState {
  scenes_waiting: number;
  scenes_rendering: number;
  joins_waiting: number;
  renders: { id: string; status: RenderStatus; progress: number }[];
}
