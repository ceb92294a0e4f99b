import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { makeBucketPrivate } from "./privateBucket.ts";

/** Where in the access-log bucket the stack's other buckets log their requests. */
export const S3_ACCESS_LOG_PREFIX = "s3/";

export interface AlbAccessLogsArgs {
  /** Days to keep the logs. */
  retentionDays: number;
  /** Without it, `pulumi destroy` may empty the bucket; with it, the logs survive. */
  protect: boolean;
  tags?: Record<string, string>;
}

/**
 * The access-log bucket of a load balancer: private, encrypted (SSE-S3, the only encryption ALB
 * log delivery supports), TLS-only, expiring old logs, writable by the region's load-balancer log
 * delivery under `alb/` and by S3 server access logging of the account's buckets under `s3/`.
 */
export class AlbAccessLogs extends pulumi.ComponentResource {
  public readonly bucketName: pulumi.Output<string>;
  /** The bucket policy, which a log writer must wait for: ALB checks it can write when set up. */
  public readonly policy: aws.s3.BucketPolicy;

  constructor(name: string, args: AlbAccessLogsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:aws:AlbAccessLogs", name, {}, opts);
    const tags = args.tags ?? {};
    const parent = { parent: this };
    const bucket = new aws.s3.Bucket(
      `${name}-alb-logs`,
      { forceDestroy: !args.protect, tags },
      parent,
    );
    makeBucketPrivate(
      bucket,
      { accessBlock: `${name}-alb-logs`, ownership: `${name}-alb-logs` },
      parent,
    );
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-alb-logs`,
      {
        bucket: bucket.id,
        rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
      },
      parent,
    );
    new aws.s3.BucketLifecycleConfiguration(
      `${name}-alb-logs`,
      {
        bucket: bucket.id,
        rules: [
          // Every object; an empty filter draws the provider's warning (see blobBucket.ts).
          {
            id: "expire",
            status: "Enabled",
            filter: { prefix: "" },
            expiration: { days: args.retentionDays },
          },
        ],
      },
      parent,
    );
    const account = aws.getCallerIdentityOutput({}, parent).accountId;
    const elbAccount = aws.elb.getServiceAccountOutput({}, parent).arn;
    this.policy = new aws.s3.BucketPolicy(
      `${name}-alb-logs`,
      {
        bucket: bucket.id,
        policy: pulumi.all([bucket.arn, account, elbAccount]).apply(([arn, accountId, elb]) =>
          JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              {
                // Regions older than August 2022 deliver as the regional ELB account, newer
                // ones as the log-delivery service; both may write only this account's prefix.
                Sid: "AlbLogDelivery",
                Effect: "Allow",
                Principal: { AWS: elb, Service: "logdelivery.elasticloadbalancing.amazonaws.com" },
                Action: "s3:PutObject",
                Resource: `${arn}/alb/AWSLogs/${accountId}/*`,
              },
              {
                // S3 server access logs of the stack's other buckets (BlobBucket's
                // `accessLogs`), under `s3/`, from buckets of this account only.
                // https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html
                Sid: "S3ServerAccessLogs",
                Effect: "Allow",
                Principal: { Service: "logging.s3.amazonaws.com" },
                Action: "s3:PutObject",
                Resource: `${arn}/${S3_ACCESS_LOG_PREFIX}*`,
                Condition: { StringEquals: { "aws:SourceAccount": accountId } },
              },
              {
                Sid: "TlsOnly",
                Effect: "Deny",
                Principal: "*",
                Action: "s3:*",
                Resource: [arn, `${arn}/*`],
                Condition: { Bool: { "aws:SecureTransport": "false" } },
              },
            ],
          }),
        ),
      },
      parent,
    );
    this.bucketName = bucket.bucket;
    this.registerOutputs({ bucketName: this.bucketName });
  }
}
