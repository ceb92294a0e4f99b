import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";

/**
 * Makes `bucket` private for good: every kind of public access blocked and ACLs turned off
 * (the bucket owner owns every object), so that only IAM and the bucket policy grant access.
 * One place for the rule that every bucket of the platform follows; the policy pack checks it.
 * Returns the access block, which a bucket policy must wait for.
 */
export function makeBucketPrivate(
  bucket: aws.s3.Bucket,
  names: { accessBlock: string; ownership: string },
  opts: pulumi.CustomResourceOptions,
): aws.s3.BucketPublicAccessBlock {
  const blocked = new aws.s3.BucketPublicAccessBlock(
    names.accessBlock,
    {
      bucket: bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    },
    opts,
  );
  new aws.s3.BucketOwnershipControls(
    names.ownership,
    { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } },
    opts,
  );
  return blocked;
}
