import { join } from "node:path";
import { z } from "zod";
import { envKey, loadEnv } from "../shared/config.ts";
import { runService } from "../shared/service.ts";
import { storageRoutes } from "./app.ts";
import { diskBlobStore, type BlobStore } from "./blobs.ts";
import { fileStore, migrations } from "./store.ts";

// Where the blobs go: S3 when a bucket is configured (AWS), else the local disk under DATA_DIR.
const env = loadEnv(
  {
    bucket: z.string().min(3).max(63).optional(),
    kmsKeyId: z.string().min(1).optional(),
    region: z.string().min(1).optional(),
    endpoint: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
    maxFileBytes: z.coerce
      .number()
      .int()
      .min(1)
      .max(64 * 1024 * 1024)
      .default(8 * 1024 * 1024),
    maxFilesPerUser: z.coerce.number().int().min(1).max(1_000_000).default(100),
    maxBytesPerUser: z.coerce
      .number()
      .int()
      .min(1)
      .default(512 * 1024 * 1024),
  },
  {
    bucket: envKey.blobBucket,
    kmsKeyId: envKey.blobKmsKeyId,
    region: envKey.awsRegion,
    endpoint: "STORAGE_S3_ENDPOINT",
    maxFileBytes: "STORAGE_MAX_FILE_BYTES",
    maxFilesPerUser: "STORAGE_MAX_FILES_PER_USER",
    maxBytesPerUser: "STORAGE_MAX_BYTES_PER_USER",
  },
);

await runService({
  name: "storage",
  migrations,
  routes: async (app, { db, dataDir, logger }) => {
    let blobs: BlobStore;
    if (env.bucket) {
      // Loaded only when used: the S3 client is a large module that the local runner never needs.
      const { s3BlobStore } = await import("./s3.ts");
      blobs = s3BlobStore({
        bucket: env.bucket,
        kmsKeyId: env.kmsKeyId,
        region: env.region,
        endpoint: env.endpoint,
      });
    } else {
      blobs = diskBlobStore(join(dataDir, "storage", "blobs"));
    }
    logger.info({ blobs: blobs.kind, bucket: env.bucket ?? null }, "blob store");
    storageRoutes(app, {
      files: fileStore(db, blobs),
      maxFileBytes: env.maxFileBytes,
      perUser: { files: env.maxFilesPerUser, bytes: env.maxBytesPerUser },
    });
  },
});
