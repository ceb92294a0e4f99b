import { recordComponents } from "../../test/plan/harness.ts";
import { mockAccount, mockElbAccount } from "../../test/plan/mocks.ts";
import { AlbAccessLogs, S3_ACCESS_LOG_PREFIX } from "./albAccessLogs.ts";

// The AlbAccessLogs component on its own, under the mocks.

type Statement = {
  Sid: string;
  Effect: string;
  Principal: unknown;
  Resource: unknown;
  Condition?: unknown;
};

test("a private, SSE-S3, TLS-only bucket that the load balancer and S3 logging alone may write", async () => {
  const records = await recordComponents(
    () => new AlbAccessLogs("edge", { retentionDays: 14, protect: true, tags: { project: "p" } }),
  );
  expect(records.one("aws:s3/bucket:Bucket", "edge-alb-logs").inputs).toMatchObject({
    forceDestroy: false,
  });
  expect(
    records.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "edge-alb-logs").inputs,
  ).toMatchObject({ blockPublicAcls: true, blockPublicPolicy: true, restrictPublicBuckets: true });
  expect(
    records.one(
      "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
      "edge-alb-logs",
    ).inputs["rules"],
  ).toEqual([{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }]);
  expect(
    records.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "edge-alb-logs")
      .inputs["rules"],
  ).toEqual([expect.objectContaining({ status: "Enabled", expiration: { days: 14 } })]);

  const policy = JSON.parse(
    String(records.one("aws:s3/bucketPolicy:BucketPolicy", "edge-alb-logs").inputs["policy"]),
  ) as { Statement: Statement[] };
  const bucket = "arn:aws:s3:::edge-alb-logs";
  expect(policy.Statement.map((s) => [s.Sid, s.Effect, s.Resource])).toEqual([
    ["AlbLogDelivery", "Allow", `${bucket}/alb/AWSLogs/${mockAccount}/*`],
    ["S3ServerAccessLogs", "Allow", `${bucket}/${S3_ACCESS_LOG_PREFIX}*`],
    ["TlsOnly", "Deny", [bucket, `${bucket}/*`]],
  ]);
  expect(policy.Statement[0]!.Principal).toMatchObject({
    AWS: `arn:aws:iam::${mockElbAccount}:root`,
  });
  expect(policy.Statement[1]!.Condition).toEqual({
    StringEquals: { "aws:SourceAccount": mockAccount },
  });
});

test("without protection, a destroy may empty the bucket", async () => {
  const records = await recordComponents(
    () => new AlbAccessLogs("edge", { retentionDays: 14, protect: false }),
  );
  expect(records.one("aws:s3/bucket:Bucket", "edge-alb-logs").inputs["forceDestroy"]).toBe(true);
});
