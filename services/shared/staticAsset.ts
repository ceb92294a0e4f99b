import { createHash } from "node:crypto";
import type { Response } from "express";

/** A file served as it is, built once, with an ETag so a browser revalidates for free. */
export interface StaticAsset {
  body: Buffer;
  /** A MIME type, or an extension express knows ("html", "js"). */
  type: string;
  etag: string;
}

export function staticAsset(body: Buffer | string, type: string): StaticAsset {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
  return { body: bytes, type, etag: `"${createHash("sha256").update(bytes).digest("hex")}"` };
}

/** Answers 304 when the browser holds this version already, the asset otherwise. */
export function sendStaticAsset(res: Response, a: StaticAsset, cacheControl: string): void {
  if (res.req.headers["if-none-match"] === a.etag) return void res.status(304).end();
  res
    .status(200)
    .type(a.type)
    .setHeader("etag", a.etag)
    .setHeader("cache-control", cacheControl)
    .send(a.body);
}
