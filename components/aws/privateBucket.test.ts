import * as aws from "@pulumi/aws";
import { recordComponents } from "../../test/plan/harness.ts";
import { makeBucketPrivate } from "./privateBucket.ts";

// makeBucketPrivate is not a component but the rule every bucket of the platform follows
// (BlobBucket, AlbAccessLogs): this is its test, on a bare bucket under the mocks.

test("blocks every kind of public access and turns ACLs off, under the options it is given", async () => {
  const records = await recordComponents(() => {
    const bucket = new aws.s3.Bucket("b", {});
    makeBucketPrivate(bucket, { accessBlock: "b-block", ownership: "b-owner" }, { parent: bucket });
  });
  const bucket = records.one("aws:s3/bucket:Bucket", "b");
  const block = records.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "b-block");
  expect(block.inputs).toEqual({
    bucket: "bucket-b",
    blockPublicAcls: true,
    blockPublicPolicy: true,
    ignorePublicAcls: true,
    restrictPublicBuckets: true,
  });
  const ownership = records.one(
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "b-owner",
  );
  expect(ownership.inputs).toEqual({
    bucket: "bucket-b",
    rule: { objectOwnership: "BucketOwnerEnforced" },
  });
  expect([block.parent, ownership.parent]).toEqual([bucket.urn, bucket.urn]);
});
