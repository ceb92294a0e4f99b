import { z } from "zod";
import { idempotencyKey } from "../shared/idempotency.ts";
import { operations } from "../shared/operation.ts";
import { createVideoBody, listVideosQuery, videoId, videoList, videoSchema } from "./contract.ts";

export const videosApi = operations([
  {
    id: "createVideo",
    method: "post",
    path: "/v1/videos",
    summary: "Queue a video made from a prompt: storyboard, scenes rendered in parallel, joined",
    headers: { "Idempotency-Key": idempotencyKey.optional() },
    body: { json: createVideoBody },
    success: { status: 202, json: videoSchema },
  },
  {
    id: "listVideos",
    method: "get",
    path: "/v1/videos",
    summary: "The caller's videos, a page at a time",
    query: listVideosQuery,
    success: { json: videoList },
  },
  {
    id: "getVideo",
    method: "get",
    path: "/v1/videos/:id",
    summary: "One of the caller's videos, with its status, progress and storyboard",
    params: { id: videoId },
    success: { json: videoSchema },
  },
  {
    id: "deleteVideo",
    method: "delete",
    path: "/v1/videos/:id",
    summary: "Delete one of the caller's videos and its content",
    params: { id: videoId },
    success: { status: 204 },
  },
  {
    id: "getVideoContent",
    method: "get",
    path: "/v1/videos/:id/content",
    summary: "A succeeded video's MP4 (H.264, AAC when voiced), with HTTP Range support",
    params: { id: videoId },
    headers: { Range: z.string().max(200).optional() },
    success: {
      contentType: "video/mp4",
      description: "The whole file, or 206 with the range asked",
    },
  },
]);
