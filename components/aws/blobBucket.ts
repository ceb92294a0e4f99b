import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { makeBucketPrivate } from "./privateBucket.ts";

export interface BlobBucketArgs {
  /** Days a deleted or overwritten object's old version is kept before it expires. Default 30. */
  noncurrentVersionDays?: number;
  /** Object key prefix the clients use; their permissions cover only it. Default `files/`. */
  prefix?: string;
  /** Lets `pulumi destroy` delete the bucket with its objects in it. Default false. */
  forceDestroy?: boolean;
  /**
   * Where S3 writes a log of every request to the bucket (server access logging): a bucket whose
   * policy admits `logging.s3.amazonaws.com`, and a key prefix ending in `/`. Unset, none.
   */
  accessLogs?: { bucket: pulumi.Input<string>; prefix: pulumi.Input<string> };
  tags?: Record<string, string>;
}

/**
 * A private S3 bucket for one service's blobs: encrypted at rest with its own KMS key (SSE-KMS
 * with a bucket key), versioned (old versions expire after `noncurrentVersionDays`), every form
 * of public access blocked, ACLs off, and a policy that refuses plain HTTP and any upload that
 * does not ask for KMS encryption. `clientStatements` are the least a task needs to use it.
 */
export class BlobBucket extends pulumi.ComponentResource {
  public readonly bucketName: pulumi.Output<string>;
  public readonly bucketArn: pulumi.Output<string>;
  public readonly kmsKeyArn: pulumi.Output<string>;
  /** IAM statements for a task role: read, write and delete objects under the prefix, and the key. */
  public readonly clientStatements: pulumi.Output<Record<string, unknown>[]>;

  constructor(name: string, args: BlobBucketArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super("platform:aws:BlobBucket", name, {}, opts);
    const parent = { parent: this };
    const tags = args.tags ?? {};
    const prefix = args.prefix ?? "files/";

    const key = new aws.kms.Key(
      `${name}-key`,
      {
        description: `${name}: blobs at rest`,
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        tags,
      },
      parent,
    );
    const bucket = new aws.s3.Bucket(
      `${name}`,
      { forceDestroy: args.forceDestroy ?? false, tags },
      parent,
    );
    const blocked = makeBucketPrivate(
      bucket,
      { accessBlock: `${name}-public-access`, ownership: `${name}-ownership` },
      parent,
    );
    if (args.accessLogs) {
      new aws.s3.BucketLogging(
        `${name}-access-logs`,
        {
          bucket: bucket.id,
          targetBucket: args.accessLogs.bucket,
          targetPrefix: args.accessLogs.prefix,
          // One folder per day under the prefix, so that a day's requests are easy to fetch.
          targetObjectKeyFormat: { partitionedPrefix: { partitionDateSource: "EventTime" } },
        },
        parent,
      );
    }
    new aws.s3.BucketVersioning(
      `${name}-versioning`,
      { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } },
      parent,
    );
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-sse`,
      {
        bucket: bucket.id,
        rules: [
          {
            applyServerSideEncryptionByDefault: {
              sseAlgorithm: "aws:kms",
              kmsMasterKeyId: key.arn,
            },
            bucketKeyEnabled: true,
          },
        ],
      },
      parent,
    );
    new aws.s3.BucketLifecycleConfiguration(
      `${name}-lifecycle`,
      {
        bucket: bucket.id,
        rules: [
          {
            id: "expire-old-versions",
            status: "Enabled",
            // Every object. An empty filter draws "Invalid Attribute Combination" from the
            // provider, to become an error (hashicorp/terraform-provider-aws#42714).
            filter: { prefix: "" },
            noncurrentVersionExpiration: { noncurrentDays: args.noncurrentVersionDays ?? 30 },
            abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
          },
        ],
      },
      parent,
    );
    new aws.s3.BucketPolicy(
      `${name}-policy`,
      {
        bucket: bucket.id,
        policy: bucket.arn.apply((arn) =>
          JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              {
                Sid: "DenyPlainHttp",
                Effect: "Deny",
                Principal: "*",
                Action: "s3:*",
                Resource: [arn, `${arn}/*`],
                Condition: { Bool: { "aws:SecureTransport": "false" } },
              },
              {
                Sid: "DenyUnencryptedUploads",
                Effect: "Deny",
                Principal: "*",
                Action: "s3:PutObject",
                Resource: `${arn}/*`,
                Condition: {
                  StringNotEquals: { "s3:x-amz-server-side-encryption": "aws:kms" },
                },
              },
            ],
          }),
        ),
      },
      // A bucket policy with public-access blocks still pending may be refused as public.
      { parent: this, dependsOn: [blocked] },
    );

    this.bucketName = bucket.bucket;
    this.bucketArn = bucket.arn;
    this.kmsKeyArn = key.arn;
    this.clientStatements = pulumi
      .all([bucket.arn, key.arn])
      .apply(([arn, keyArn]): Record<string, unknown>[] => [
        {
          Effect: "Allow",
          Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
          Resource: `${arn}/${prefix}*`,
        },
        // Without it a missing key reads as 403, not 404.
        {
          Effect: "Allow",
          Action: "s3:ListBucket",
          Resource: arn,
          Condition: { StringLike: { "s3:prefix": `${prefix}*` } },
        },
        {
          Effect: "Allow",
          Action: ["kms:GenerateDataKey", "kms:Decrypt"],
          Resource: keyArn,
        },
      ]);
    this.registerOutputs({
      bucketName: this.bucketName,
      bucketArn: this.bucketArn,
      kmsKeyArn: this.kmsKeyArn,
    });
  }
}
