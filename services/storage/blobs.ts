import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";

/**
 * Where file contents live, by key (a file id). Metadata and ownership are the store's business
 * (store.ts); a blob store only keeps bytes. Two implementations: the local disk (`npm start`,
 * tests) and S3 (AWS, s3.ts).
 */
export interface BlobStore {
  readonly kind: "disk" | "s3";
  /** Writes the whole blob, or nothing: a reader never sees half of it. */
  put(key: string, data: Buffer, meta: { contentType: string; sha256: string }): Promise<void>;
  /** The blob's bytes; undefined when there is none under `key`. */
  get(key: string): Promise<Buffer | undefined>;
  /** Removes the blob; removing a missing one is not an error. */
  delete(key: string): Promise<void>;
}

const KEY = /^[A-Za-z0-9_-]{1,128}$/;

export function checkKey(key: string): string {
  if (!KEY.test(key)) throw new Error(`blob key ${JSON.stringify(key)}: not a plain id`);
  return key;
}

/**
 * Blobs as files under `root`, shared by the replicas of one machine. A write goes to a temporary
 * file in the same folder, is flushed to disk, then renamed over the final name: rename is atomic
 * within a file system, so a crash leaves either the old state or the whole new blob.
 */
export function diskBlobStore(root: string): BlobStore {
  const tmp = join(root, ".tmp");
  const ready = Promise.all([mkdir(root, { recursive: true }), mkdir(tmp, { recursive: true })]);
  return {
    kind: "disk",
    async put(key, data) {
      await ready;
      const partial = join(tmp, `${checkKey(key)}.${randomBytes(6).toString("hex")}`);
      const handle = await open(partial, "wx", 0o600);
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      try {
        await rename(partial, join(root, key));
      } catch (err) {
        await rm(partial, { force: true });
        throw err;
      }
    },
    async get(key) {
      await ready;
      try {
        return await readFile(join(root, checkKey(key)));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw err;
      }
    },
    async delete(key) {
      await ready;
      await rm(join(root, checkKey(key)), { force: true });
    },
  };
}

/** Where a service with catalog `blobs` keeps them: an S3 bucket on AWS, else the local disk. */
export interface BlobPlace {
  bucket?: string;
  kmsKeyId?: string;
  region?: string;
  /** An S3-compatible endpoint (tests, emulators). */
  endpoint?: string;
}

/** The env a service with catalog `blobs` reads its BlobPlace from (platform/runtimeEnv.ts). */
export const blobPlaceFields = {
  bucket: z.string().min(3).max(63).optional(),
  kmsKeyId: z.string().min(1).optional(),
  region: z.string().min(1).optional(),
  endpoint: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
};

/** Opens the bucket when one is named, else `dir` on the local disk. */
export async function openBlobStore(place: BlobPlace, dir: string): Promise<BlobStore> {
  if (!place.bucket) return diskBlobStore(dir);
  // Loaded only when used: the S3 client is a large module that the local runner never needs.
  const { s3BlobStore } = await import("./s3.ts");
  return s3BlobStore({ ...place, bucket: place.bucket });
}

/** Stores `data` with its digest, which S3 checks on arrival. */
export function putBytes(blobs: BlobStore, key: string, data: Buffer, contentType: string) {
  const sha256 = createHash("sha256").update(data).digest("hex");
  return blobs.put(key, data, { contentType, sha256 });
}
