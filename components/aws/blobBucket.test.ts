import { recordComponents, settle } from "../../test/plan/harness.ts";
import { mockArn } from "../../test/plan/mocks.ts";
import type { BlobBucketArgs } from "./blobBucket.ts";
import { BlobBucket } from "./blobBucket.ts";

// The BlobBucket component on its own, under the mocks: a versioned, SSE-KMS bucket with its
// own key, private for good, whose policy refuses plain HTTP and uploads that skip KMS.

type Statement = {
  Sid?: string;
  Effect: string;
  Action: unknown;
  Resource: unknown;
  Condition?: unknown;
};

const bucketArn = "arn:aws:s3:::files";
const keyArn = mockArn("aws:kms/key:Key", "files-key");

async function build(args: BlobBucketArgs = {}) {
  let bucket: BlobBucket | undefined;
  const records = await recordComponents(() => {
    bucket = new BlobBucket("files", { tags: { project: "p" }, ...args });
  });
  return { records, bucket: bucket! };
}

test("every part of it is its own child", async () => {
  const { records } = await build({ accessLogs: { bucket: "logs", prefix: "s3/files/" } });
  const component = records.one("platform:aws:BlobBucket", "files");
  const others = records.all.filter((r) => r !== component);
  expect(others.length).toBeGreaterThan(0);
  for (const r of others)
    expect([r.type, r.name, r.parent]).toEqual([r.type, r.name, component.urn]);
});

test("encrypted at rest with its own rotating key, versioned, kept on destroy by default", async () => {
  const { records } = await build({ noncurrentVersionDays: 12 });
  expect(records.one("aws:kms/key:Key", "files-key").inputs).toMatchObject({
    enableKeyRotation: true,
    deletionWindowInDays: 30,
  });
  expect(
    records.one(
      "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
      "files-sse",
    ).inputs["rules"],
  ).toEqual([
    {
      applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: keyArn },
      bucketKeyEnabled: true,
    },
  ]);
  expect(records.one("aws:s3/bucket:Bucket", "files").inputs["forceDestroy"]).toBe(false);
  expect(
    records.one("aws:s3/bucketVersioning:BucketVersioning", "files-versioning").inputs,
  ).toMatchObject({ versioningConfiguration: { status: "Enabled" } });
  expect(
    records.one(
      "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
      "files-lifecycle",
    ).inputs["rules"],
  ).toEqual([
    expect.objectContaining({
      status: "Enabled",
      noncurrentVersionExpiration: { noncurrentDays: 12 },
      abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
    }),
  ]);
  // No access logging unless asked for.
  expect(records.byType("aws:s3/bucketLogging:BucketLogging")).toEqual([]);
});

test("no public access, and a policy that refuses plain HTTP and uploads without KMS", async () => {
  const { records } = await build();
  expect(
    records.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "files-public-access")
      .inputs,
  ).toMatchObject({
    blockPublicAcls: true,
    blockPublicPolicy: true,
    ignorePublicAcls: true,
    restrictPublicBuckets: true,
  });
  expect(
    records.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "files-ownership").inputs,
  ).toMatchObject({ rule: { objectOwnership: "BucketOwnerEnforced" } });
  const policy = JSON.parse(
    String(records.one("aws:s3/bucketPolicy:BucketPolicy", "files-policy").inputs["policy"]),
  ) as { Statement: Statement[] };
  expect(policy.Statement).toEqual([
    expect.objectContaining({
      Sid: "DenyPlainHttp",
      Effect: "Deny",
      Action: "s3:*",
      Resource: [bucketArn, `${bucketArn}/*`],
      Condition: { Bool: { "aws:SecureTransport": "false" } },
    }),
    expect.objectContaining({
      Sid: "DenyUnencryptedUploads",
      Effect: "Deny",
      Action: "s3:PutObject",
      Condition: { StringNotEquals: { "s3:x-amz-server-side-encryption": "aws:kms" } },
    }),
  ]);
});

test("logs its requests where asked, a folder a day", async () => {
  const { records } = await build({ accessLogs: { bucket: "logs", prefix: "s3/files/" } });
  expect(
    records.one("aws:s3/bucketLogging:BucketLogging", "files-access-logs").inputs,
  ).toMatchObject({
    targetBucket: "logs",
    targetPrefix: "s3/files/",
    targetObjectKeyFormat: { partitionedPrefix: { partitionDateSource: "EventTime" } },
  });
});

test("a client may touch objects under its prefix and use the key, nothing more", async () => {
  const { bucket } = await build({ prefix: "avatars/" });
  expect(await settle(bucket.clientStatements)).toEqual([
    {
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
      Resource: `${bucketArn}/avatars/*`,
    },
    {
      Effect: "Allow",
      Action: "s3:ListBucket",
      Resource: bucketArn,
      Condition: { StringLike: { "s3:prefix": "avatars/*" } },
    },
    { Effect: "Allow", Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: keyArn },
  ]);
  expect(
    await Promise.all([
      settle(bucket.bucketName),
      settle(bucket.bucketArn),
      settle(bucket.kmsKeyArn),
    ]),
  ).toEqual(["files", bucketArn, keyArn]);
});
