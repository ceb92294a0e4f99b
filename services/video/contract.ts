import { z } from "zod";
import { idSchema } from "../shared/ids.ts";
import { listOf, pageQuery } from "../shared/pagination.ts";
import { fileId } from "../storage/contract.ts";

// The videos API's shapes: the requests, shared by the service and the gateway's validation, and
// the answers, published in the API's description and held to the real ones in tests.

export const videoId = idSchema("vid", "a video id");

export const RESOLUTIONS = ["640x360", "1280x720"] as const;

export const createVideoBody = z
  .object({
    prompt: z
      .string()
      .max(2_000)
      .refine((p) => p.trim().length > 0, "must not be empty"),
    duration_seconds: z.number().int().min(1).max(60),
    resolution: z.enum(RESOLUTIONS, { error: 'must be "640x360" or "1280x720"' }),
    voice: z.boolean().default(false),
    /** Pictures (the caller's own files, purpose `vision`) the storyboard may show. */
    image_file_ids: z.array(fileId).max(4).default([]),
  })
  .strict();
export type CreateVideo = z.output<typeof createVideoBody>;

export const listVideosQuery = pageQuery(videoId);

/** What one user may have queued or rendering at once (a queue any user could fill otherwise). */
export const DEFAULT_VIDEO_LIMITS = { active: 3, total: 200 };
export type VideoLimits = typeof DEFAULT_VIDEO_LIMITS;

export const videoStatuses = [
  "queued",
  "planning",
  "rendering",
  "encoding",
  "succeeded",
  "failed",
] as const;
export type VideoStatus = (typeof videoStatuses)[number];

export const visualKinds = ["title", "caption", "chart", "image"] as const;
export type VisualKind = (typeof visualKinds)[number];

/** One scene of a storyboard as the API shows it (an image scene names its file). */
export const sceneSchema = z.object({
  index: z.number().int().min(0),
  duration_seconds: z.number(),
  narration: z.string(),
  visual: z.discriminatedUnion("kind", [
    z.object({ kind: z.literal("title"), title: z.string(), subtitle: z.string().optional() }),
    z.object({ kind: z.literal("caption"), caption: z.string() }),
    z.object({
      kind: z.literal("chart"),
      title: z.string(),
      bars: z.array(z.object({ label: z.string(), value: z.number() })),
    }),
    z.object({ kind: z.literal("image"), file_id: z.string(), caption: z.string().optional() }),
  ]),
  style: z.object({ background: z.string(), foreground: z.string(), accent: z.string() }),
});
export type Scene = z.infer<typeof sceneSchema>;

/** A video as the API shows it. */
export const videoSchema = z
  .object({
    id: videoId,
    object: z.literal("video"),
    status: z.enum(videoStatuses),
    progress: z.number().min(0).max(1),
    prompt: z.string(),
    duration_seconds: z.number().int(),
    resolution: z.enum(RESOLUTIONS),
    voice: z.boolean(),
    image_file_ids: z.array(z.string()),
    title: z.string().nullable(),
    scenes: z.array(sceneSchema),
    choices: z.object({ scene_seconds: z.number(), reason: z.string() }).nullable().meta({
      description: "The orchestrator's choices, and the play statistics they came from",
    }),
    bytes: z.number().int().nullable(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    created_at: z.number().int(),
    finished_at: z.number().int().nullable(),
  })
  .strict()
  .meta({ id: "Video", description: "A video and how far its making has come" });
export type Video = z.infer<typeof videoSchema>;
export const videoList = listOf(videoSchema);
