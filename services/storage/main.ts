import { join } from "node:path";
import { z } from "zod";
import { envKey, loadEnv } from "../shared/config.ts";
import { runService } from "../shared/service.ts";
import { storageRoutes } from "./app.ts";
import { blobPlaceFields, openBlobStore } from "./blobs.ts";
import { fileStore, migrations } from "./store.ts";

// Where the blobs go: S3 when a bucket is configured (AWS), else the local disk under DATA_DIR.
const env = loadEnv(
  {
    ...blobPlaceFields,
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
    const blobs = await openBlobStore(env, join(dataDir, "storage", "blobs"));
    logger.info({ blobs: blobs.kind, bucket: env.bucket ?? null }, "blob store");
    storageRoutes(app, {
      files: fileStore(db, blobs),
      maxFileBytes: env.maxFileBytes,
      perUser: { files: env.maxFilesPerUser, bytes: env.maxBytesPerUser },
    });
  },
});
