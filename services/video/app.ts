import type { Express } from "express";
import { ApiError, limitReached, notFound } from "../shared/errors.ts";
import { idempotencyKeyReused, idempotencyOf } from "../shared/idempotency.ts";
import { listBody } from "../shared/pagination.ts";
import { principalFrom } from "../shared/principal.ts";
import { jsonBody, parse } from "../shared/validation.ts";
import type { BlobStore } from "../storage/blobs.ts";
import type { StorageClient } from "../storage/client.ts";
import type { RenderClient } from "./clients.ts";
import { createVideoBody, listVideosQuery, videoId, type VideoLimits } from "./contract.ts";
import type { PlayRecorder } from "./plays.ts";
import { VideoLimitReached, type VideoStore } from "./store.ts";

export interface VideoRoutesArgs {
  videos: VideoStore;
  blobs: BlobStore;
  storage: StorageClient;
  render: RenderClient;
  plays: PlayRecorder;
  /** Tells this replica's orchestrator that a video is waiting. */
  wake: () => void;
  perUser: VideoLimits;
}

const ROUTE = "/v1/videos";

/**
 * `POST /v1/videos` queues a video (202) that the orchestrator of any replica makes; `GET` shows
 * its progress and storyboard; `/content` serves the MP4 with Range support, so a browser's
 * `<video>` plays and seeks it. A video belongs to its creator: another user's is a 404.
 */
export function videoRoutes(app: Express, a: VideoRoutesArgs): void {
  app.post(ROUTE, ...jsonBody("16kb"), async (req, res) => {
    res.locals.route = ROUTE;
    const owner = principalFrom(req.headers);
    const input = parse(createVideoBody, req.body);
    for (const [i, id] of input.image_file_ids.entries()) {
      const file = await a.storage.info(id);
      const param = `image_file_ids.${i}`;
      if (!file || file.user_id !== owner.userId)
        throw new ApiError(
          404,
          "not_found_error",
          "file_not_found",
          `${param}: no file ${id}`,
          param,
        );
      if (file.purpose !== "vision")
        throw new ApiError(
          400,
          "invalid_request_error",
          "invalid_file_purpose",
          `${param}: a picture is a file of purpose vision, not ${file.purpose}`,
          param,
        );
    }
    let result;
    try {
      result = await a.videos.create(owner, input, idempotencyOf(req.headers, input), a.perUser);
    } catch (err) {
      if (err instanceof VideoLimitReached) throw limitReached("video_limit_reached", err.message);
      throw err;
    }
    if (result.kind === "conflict") throw idempotencyKeyReused();
    if (result.kind === "replayed") res.setHeader("idempotent-replayed", "true");
    else a.wake();
    res.locals.decision = result.value.id;
    res.status(202).setHeader("location", `${ROUTE}/${result.value.id}`).json(result.value);
  });

  app.get(ROUTE, async (req, res) => {
    res.locals.route = ROUTE;
    const { userId } = principalFrom(req.headers);
    res.json(listBody(await a.videos.list(userId, parse(listVideosQuery, req.query, "query"))));
  });

  app.get(`${ROUTE}/:id`, async (req, res) => {
    res.locals.route = ROUTE;
    const { userId } = principalFrom(req.headers);
    const id = parse(videoId, req.params.id, "video_id");
    const video = await a.videos.get(userId, id);
    if (!video) throw notFound("video_not_found", `no video ${id}`);
    res.json(video);
  });

  app.delete(`${ROUTE}/:id`, async (req, res) => {
    res.locals.route = ROUTE;
    const { userId } = principalFrom(req.headers);
    const id = parse(videoId, req.params.id, "video_id");
    const removed = await a.videos.remove(userId, id);
    if (!removed) throw notFound("video_not_found", `no video ${id}`);
    // A video still in the making loses its lease with its row; its render is dropped here.
    await a.render.remove(id);
    if (removed.key) await a.blobs.delete(removed.key);
    res.status(204).end();
  });

  app.get(`${ROUTE}/:id/content`, async (req, res) => {
    res.locals.route = ROUTE;
    const owner = principalFrom(req.headers);
    const id = parse(videoId, req.params.id, "video_id");
    const found = await a.videos.content(owner.userId, id);
    if (!found) throw notFound("video_not_found", `no video ${id}`);
    const data = found.key ? await a.blobs.get(found.key) : undefined;
    if (found.video.status !== "succeeded" || !data)
      throw new ApiError(
        409,
        "invalid_request_error",
        "video_not_ready",
        `the video is ${found.video.status}: only a succeeded video has content`,
      );
    const ranges = req.headers.range === undefined ? undefined : req.range(data.length);
    if (ranges === -1 || ranges === -2 || (ranges && ranges.type !== "bytes")) {
      res.setHeader("content-range", `bytes */${data.length}`);
      throw new ApiError(
        416,
        "invalid_request_error",
        "range_not_satisfiable",
        `Range: "${req.headers.range}" is not a byte range within the ${data.length} bytes`,
        "Range",
      );
    }
    // One range is served; several (rare for video) get the first, which HTTP allows.
    const range = ranges?.[0] ?? { start: 0, end: data.length - 1 };
    a.plays.record(owner, found.video, range, data.length);
    res.setHeader("accept-ranges", "bytes");
    res.setHeader("content-type", "video/mp4");
    res.setHeader("cache-control", "private, max-age=3600");
    if (!ranges) return void res.send(data);
    res
      .status(206)
      .setHeader("content-range", `bytes ${range.start}-${range.end}/${data.length}`)
      .send(data.subarray(range.start, range.end + 1));
  });
}
