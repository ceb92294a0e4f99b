import type { Express } from "express";
import { notFound } from "../shared/errors.ts";
import { jsonBody, parse } from "../shared/validation.ts";
import { putBytes, type BlobStore } from "../storage/blobs.ts";
import { createRenderBody } from "./contract.ts";
import type { RenderStore } from "./store.ts";

const renderId = createRenderBody.shape.id;

export interface RenderRoutesArgs {
  renders: RenderStore;
  blobs: BlobStore;
  /** Tells this replica's worker that scenes are waiting. */
  wake: () => void;
}

/**
 * The render service's internal API (signed calls only, from the video service): queue a
 * video's scenes, follow them, fetch the joined video, and drop it all once the video has it.
 */
export function renderRoutes(app: Express, a: RenderRoutesArgs): void {
  // Scenes carry their pictures inline (base64), up to a few MiB each.
  app.post("/internal/renders", ...jsonBody("48mb"), async (req, res) => {
    const input = parse(createRenderBody, req.body);
    const created = await a.renders.create(input, (key, data) =>
      putBytes(a.blobs, key, data, "application/octet-stream"),
    );
    if (created) a.wake();
    res.status(created ? 201 : 200).json(await a.renders.get(input.id));
  });

  app.get("/internal/renders/:id", async (req, res) => {
    const id = parse(renderId, req.params.id, "id");
    const render = await a.renders.get(id);
    if (!render) throw notFound("render_not_found", `no render ${id}`);
    res.json(render);
  });

  app.get("/internal/renders/:id/content", async (req, res) => {
    const id = parse(renderId, req.params.id, "id");
    const key = await a.renders.output(id);
    const data = key && (await a.blobs.get(key));
    if (!data) throw notFound("render_not_found", `no finished render ${id}`);
    res.type("video/mp4").send(data);
  });

  // `?keep=record`: the bytes go (the video has its copy), the render and its attempts stay.
  app.delete("/internal/renders/:id", async (req, res) => {
    const id = parse(renderId, req.params.id, "id");
    const forget = req.query["keep"] !== "record";
    for (const key of await a.renders.blobsOf(id, forget)) await a.blobs.delete(key);
    res.status(204).end();
  });

  app.get("/internal/queue", async (_req, res) => {
    res.json(await a.renders.queue());
  });
}
