import { catalog, services } from "../platform/catalog/index.ts";
import type { RunResult } from "../test/plan/harness.ts";
import { runProgram } from "../test/plan/harness.ts";
import { mockId } from "../test/plan/records.ts";
import type { ResourceRecord } from "../test/plan/records.ts";

// The blob buckets of the `dev` AWS graph under Pulumi's mocks: each service with catalog
// `blobs` gets a private, encrypted, versioned bucket; only its own tasks may use it, and only
// they are told where it is.

let run: RunResult;
beforeAll(async () => {
  run = await runProgram({ stack: "dev" });
});

const T = {
  bucket: "aws:s3/bucket:Bucket",
  versioning: "aws:s3/bucketVersioning:BucketVersioning",
  sse: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  publicAccess: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  ownership: "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
  policy: "aws:s3/bucketPolicy:BucketPolicy",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  taskDefinition: "aws:ecs/taskDefinition:TaskDefinition",
};

const keepers = services(catalog).filter((s) => s.blobs);
const bucketName = (service: string) => `${catalog.name}-${service}-blobs`;
const bucketOf = (service: string) =>
  run.records.byType(T.bucket).find((b) => b.name === bucketName(service));
/** The records of `type` that configure the bucket named `name`. */
const configOf = (type: string, name: string): ResourceRecord | undefined =>
  run.records.byType(type).find((r) => r.inputs["bucket"] === mockId({ type: T.bucket, name }));

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: unknown;
}
const statements = (r: ResourceRecord): Statement[] =>
  (JSON.parse(String(r.inputs["policy"])) as { Statement: Statement[] }).Statement;

function taskEnv(label: string): Record<string, string> {
  const td = run.records
    .byType(T.taskDefinition)
    .find((t) => t.name.startsWith(`${catalog.name}-${label}-`));
  if (!td) throw new Error(`no task definition for ${label}`);
  const [container] = JSON.parse(String(td.inputs["containerDefinitions"])) as {
    environment: { name: string; value: string }[];
  }[];
  return Object.fromEntries(container!.environment.map((e) => [e.name, e.value]));
}

test("the catalog has a service that keeps blobs (storage)", () => {
  expect(keepers.map((s) => s.name)).toContain("storage");
  expect(run.records.byType(T.bucket).filter((b) => b.name.endsWith("-blobs"))).toHaveLength(
    keepers.length,
  );
});

test("each blob bucket is private, KMS-encrypted, versioned, and refuses plain HTTP and unencrypted uploads", () => {
  for (const s of keepers) {
    const name = bucketName(s.name);
    expect(bucketOf(s.name)).toBeDefined();
    expect(configOf(T.versioning, name)?.inputs["versioningConfiguration"]).toEqual({
      status: "Enabled",
    });
    const rule = (configOf(T.sse, name)?.inputs["rules"] as Record<string, never>[])[0]!;
    expect(rule["applyServerSideEncryptionByDefault"]).toMatchObject({ sseAlgorithm: "aws:kms" });
    expect(rule["bucketKeyEnabled"]).toBe(true);
    expect(configOf(T.publicAccess, name)?.inputs).toMatchObject({
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    expect(configOf(T.ownership, name)?.inputs["rule"]).toEqual({
      objectOwnership: "BucketOwnerEnforced",
    });
    const denies = statements(configOf(T.policy, name)!).filter((st) => st.Effect === "Deny");
    expect(denies.map((d) => d.Condition)).toEqual([
      { Bool: { "aws:SecureTransport": "false" } },
      { StringNotEquals: { "s3:x-amz-server-side-encryption": "aws:kms" } },
    ]);
  }
});

test("only a keeper's own tasks may use its bucket, and only they are told where it is", () => {
  for (const s of services(catalog)) {
    for (const v of s.versions) {
      const label = v.name === "v1" ? s.name : `${s.name}-${v.name}`;
      const policy = run.records
        .byType(T.rolePolicy)
        .find((r) => r.name === `${catalog.name}-${label}-task`);
      const s3 = (policy ? statements(policy) : []).filter((st) =>
        [st.Action].flat().some((a) => a.startsWith("s3:")),
      );
      const env = taskEnv(label);
      if (!s.blobs) {
        expect({ service: label, s3, bucket: env["BLOB_BUCKET"] }).toEqual({
          service: label,
          s3: [],
        });
        continue;
      }
      const arn = `arn:aws:s3:::${bucketName(s.name)}`;
      // Objects under its prefix, listing of that prefix only; never s3:* or another bucket.
      expect(s3.flatMap((st) => [st.Resource].flat()).sort()).toEqual([arn, `${arn}/files/*`]);
      expect(s3.flatMap((st) => [st.Action].flat()).sort()).toEqual([
        "s3:DeleteObject",
        "s3:GetObject",
        "s3:ListBucket",
        "s3:PutObject",
      ]);
      expect(env["BLOB_BUCKET"]).toBe(bucketName(s.name));
      expect(env["BLOB_KMS_KEY_ID"]).toMatch(/^arn:aws:kms:/);
      expect(env["AWS_REGION"]).toBeTruthy();
    }
  }
});

test("every request to a blobs bucket is logged to the stack's log bucket, which admits only this account's buckets", () => {
  for (const s of keepers) {
    const logging = configOf("aws:s3/bucketLogging:BucketLogging", bucketName(s.name));
    expect(logging?.inputs).toMatchObject({
      targetBucket: `${catalog.name}-alb-logs`,
      targetPrefix: `s3/${s.name}/`,
    });
  }
  const policy = configOf(T.policy, `${catalog.name}-alb-logs`)!;
  const statements = (JSON.parse(String(policy.inputs["policy"])) as { Statement: Statement[] })
    .Statement;
  expect(statements).toContainEqual(
    expect.objectContaining({
      Principal: { Service: "logging.s3.amazonaws.com" },
      Action: "s3:PutObject",
      Resource: `arn:aws:s3:::${catalog.name}-alb-logs/s3/*`,
      Condition: { StringEquals: { "aws:SourceAccount": "123456789012" } },
    }),
  );
});
