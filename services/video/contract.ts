import { z } from "zod";
import { idSchema } from "../shared/ids.ts";
import { pageQuery } from "../shared/pagination.ts";
import { fileId } from "../storage/contract.ts";

// The videos API's request shapes, shared by the service and the gateway's validation.

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
export interface Scene {
  index: number;
  duration_seconds: number;
  narration: string;
  visual:
    | { kind: "title"; title: string; subtitle?: string }
    | { kind: "caption"; caption: string }
    | { kind: "chart"; title: string; bars: { label: string; value: number }[] }
    | { kind: "image"; file_id: string; caption?: string };
  style: { background: string; foreground: string; accent: string };
}

/** A video as the API shows it. */
export interface Video {
  id: string;
  object: "video";
  status: VideoStatus;
  progress: number;
  prompt: string;
  duration_seconds: number;
  resolution: (typeof RESOLUTIONS)[number];
  voice: boolean;
  image_file_ids: string[];
  title: string | null;
  scenes: Scene[];
  /** The orchestrator's choices, and the play statistics they came from (the feedback loop). */
  choices: { scene_seconds: number; reason: string } | null;
  bytes: number | null;
  error: { code: string; message: string } | null;
  created_at: number;
  finished_at: number | null;
}
