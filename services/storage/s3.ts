import {
  DeleteObjectCommand,
  GetObjectCommand,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { checkKey, type BlobStore } from "./blobs.ts";

export interface S3BlobStoreArgs {
  bucket: string;
  /** Keys are `<prefix><file id>`. Default `files/`. */
  prefix?: string;
  /** KMS key for server-side encryption (SSE-KMS); absent, S3's own keys (SSE-S3). */
  kmsKeyId?: string;
  region?: string;
  /** An S3-compatible endpoint (path-style addressing); absent, AWS S3 itself. */
  endpoint?: string;
  /** Credentials for an S3-compatible endpoint; on AWS the task role's come by themselves. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/**
 * Blobs as S3 objects. Every put asks for server-side encryption (the bucket's policy refuses
 * one that does not) and sends the SHA-256 the service computed, which S3 checks on arrival, so
 * a corrupted upload is refused rather than stored. A PutObject is atomic: readers see the old
 * object or the whole new one. The bucket is versioned (components/aws/blobBucket.ts), so a
 * deleted or overwritten blob stays recoverable for the bucket's retention.
 */
export function s3BlobStore(args: S3BlobStoreArgs, client?: S3Client): BlobStore {
  const s3 =
    client ??
    new S3Client({
      region: args.region ?? "us-east-1",
      ...(args.endpoint ? { endpoint: args.endpoint, forcePathStyle: true } : {}),
      ...(args.credentials ? { credentials: args.credentials } : {}),
    });
  const prefix = args.prefix ?? "files/";
  const keyOf = (key: string) => `${prefix}${checkKey(key)}`;
  return {
    kind: "s3",
    async put(key, data, meta) {
      await s3.send(
        new PutObjectCommand({
          Bucket: args.bucket,
          Key: keyOf(key),
          Body: data,
          ContentType: meta.contentType,
          ContentLength: data.length,
          ChecksumSHA256: Buffer.from(meta.sha256, "hex").toString("base64"),
          ...(args.kmsKeyId
            ? {
                ServerSideEncryption: "aws:kms",
                SSEKMSKeyId: args.kmsKeyId,
                BucketKeyEnabled: true,
              }
            : { ServerSideEncryption: "AES256" }),
        }),
      );
    },
    async get(key) {
      try {
        const out = await s3.send(new GetObjectCommand({ Bucket: args.bucket, Key: keyOf(key) }));
        if (!out.Body) return undefined;
        return Buffer.from(await out.Body.transformToByteArray());
      } catch (err) {
        if (err instanceof NoSuchKey || (err as { name?: string }).name === "NoSuchKey")
          return undefined;
        throw err;
      }
    },
    async delete(key) {
      await s3.send(new DeleteObjectCommand({ Bucket: args.bucket, Key: keyOf(key) }));
    },
  };
}
