import { readFileSync } from "node:fs";
import { join } from "node:path";
import { mockSecrets, runProgram } from "../test/plan/harness.ts";
import { runPolicies } from "../test/plan/policyAdapter.ts";
import { mockId } from "../test/plan/records.ts";
import { ordersCanary } from "../test/support/catalogVariants.ts";
import type { ResourceRecord } from "../test/plan/records.ts";
import { policies, untaggableTypes } from "./rules.ts";

// The policy pack over the mocked graphs of every stack: each stack passes, and for each rule a
// deliberately broken copy of a graph fails it with that rule's name.

type Graph = ResourceRecord[];
const graphs: Record<string, Graph> = {};

beforeAll(async () => {
  // No secret configured: the AWS stacks generate their Redis tokens, as a fresh stack does.
  for (const stack of ["dev", "prod"])
    graphs[stack] = [...(await runProgram({ stack, secrets: {} })).records.all];
  graphs["docker"] = [
    ...(
      await runProgram({
        stack: "docker",
        secrets: { "platform:postgresPassword": mockSecrets["platform:postgresPassword"]! },
      })
    ).records.all,
  ];
});

/** A deep copy of a graph with `edit` applied to the first record of `type` that `pick` accepts. */
function broken(
  stack: string,
  type: string,
  edit: (r: ResourceRecord, all: Graph) => void,
  pick: (r: ResourceRecord) => boolean = () => true,
): Graph {
  const copy = structuredClone(graphs[stack]!);
  const target = copy.find((r) => r.type === type && pick(r));
  if (!target) throw new Error(`no ${type} to break in ${stack}`);
  edit(target, copy);
  return copy;
}

async function failures(graph: Graph): Promise<string[]> {
  return (await runPolicies(graph, policies)).map((v) => `${v.policy}: ${v.message}`);
}

test.each(["dev", "prod", "docker"])("the %s stack passes every policy", async (stack) => {
  expect(await failures(graphs[stack]!)).toEqual([]);
});

// The upgrade layer's graphs: orders v2 beside v1 (its own task definition and ECS service) at
// a canary's weight, as `npm run upgrade` expects a new version to be declared.
test("a two-version catalog passes every policy on AWS", async () => {
  const canary = [
    ...(await runProgram({ stack: "dev", secrets: {}, catalog: ordersCanary() })).records.all,
  ];
  expect(
    canary
      .filter(
        (r) => r.type === "aws:ecs/taskDefinition:TaskDefinition" && r.name.includes("orders"),
      )
      .map((r) => r.name)
      .sort(),
  ).toEqual(["platform-orders-task", "platform-orders-v2-task"]);
  expect(await failures(canary)).toEqual([]);
});

const tags = (r: ResourceRecord) => r.inputs["tags"] as Record<string, string>;

test.each<[string, () => Graph, string]>([
  [
    "RDS without storage encryption",
    () => broken("dev", "aws:rds/instance:Instance", (r) => (r.inputs["storageEncrypted"] = false)),
    "data-encryption: RDS storage must be encrypted",
  ],
  [
    "a parameter group that does not force TLS",
    () =>
      broken("prod", "aws:rds/parameterGroup:ParameterGroup", (r) => (r.inputs["parameters"] = [])),
    "data-encryption: RDS must use a parameter group that sets rds.force_ssl=1",
  ],
  [
    "Redis without TLS",
    () =>
      broken(
        "dev",
        "aws:elasticache/replicationGroup:ReplicationGroup",
        (r) => (r.inputs["transitEncryptionEnabled"] = false),
      ),
    "data-encryption: ElastiCache must encrypt in transit (TLS)",
  ],
  [
    "MSK accepting plaintext clients",
    () =>
      broken(
        "prod",
        "aws:msk/cluster:Cluster",
        (r) =>
          (r.inputs["encryptionInfo"] = {
            encryptionInTransit: { clientBroker: "TLS_PLAINTEXT", inCluster: true },
          }),
      ),
    "data-encryption: MSK client-broker traffic must be TLS only",
  ],
  [
    "a bucket without its encryption configuration",
    () => {
      const g = structuredClone(graphs["dev"]!);
      return g.filter(
        (r) =>
          r.type !==
          "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
      );
    },
    "data-encryption: S3 buckets need a server-side encryption configuration resource",
  ],
  [
    "a publicly accessible RDS",
    () =>
      broken("dev", "aws:rds/instance:Instance", (r) => (r.inputs["publiclyAccessible"] = true)),
    "data-tier-private: RDS must not be publicly accessible",
  ],
  [
    "a database subnet group over the public subnets",
    () =>
      broken("prod", "aws:rds/subnetGroup:SubnetGroup", (r, all) => {
        r.inputs["subnetIds"] = all
          .filter((s) => s.type === "aws:ec2/subnet:Subnet" && s.name.endsWith("-public"))
          .map(mockId);
      }),
    "data-tier-private: platform-identity-postgres is placed in public subnet platform-0-public",
  ],
  [
    "SSH open to the world on a service's group",
    () =>
      broken(
        "dev",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        (r) => {
          Object.assign(r.inputs, { cidrIpv4: "0.0.0.0/0", fromPort: 22, toPort: 22 });
          delete r.inputs["referencedSecurityGroupId"];
        },
        (r) => r.name === "platform-orders-from-0",
      ),
    "no-internet-ingress: platform-orders-from-0 opens tcp 22-22 to the internet; only a public load balancer may, on 80/443",
  ],
  [
    "the ALB's group open on another port",
    () =>
      broken(
        "prod",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        (r) => Object.assign(r.inputs, { fromPort: 8080, toPort: 8080 }),
        (r) => r.name === "platform-in-443",
      ),
    "no-internet-ingress: platform-in-443 opens tcp 8080-8080 to the internet; only a public load balancer may, on 80/443",
  ],
  [
    "a service with one task",
    () =>
      broken(
        "dev",
        "aws:ecs/service:Service",
        (r) => (r.inputs["desiredCount"] = 1),
        (r) => r.name.startsWith("platform-orders"),
      ),
    "spread-over-zones: platform-orders-service must run at least 2 tasks",
  ],
  [
    "a tier in one zone",
    () =>
      broken(
        "prod",
        "aws:ecs/service:Service",
        (r) => {
          const net = r.inputs["networkConfiguration"] as { subnets: string[] };
          net.subnets = net.subnets.slice(0, 1);
        },
        (r) => r.name === "platform-gw-identity-service",
      ),
    "spread-over-zones: platform-gw-identity-service must spread over 2+ zones (has 1)",
  ],
  [
    "autoscaling allowed down to one task",
    () =>
      broken(
        "dev",
        "aws:appautoscaling/target:Target",
        (r) => (r.inputs["minCapacity"] = 1),
        (r) => r.name.startsWith("platform-auth"),
      ),
    "spread-over-zones: platform-auth-scaling lets autoscaling go below 2 tasks",
  ],
  [
    "a log group kept forever",
    () =>
      broken("dev", "aws:cloudwatch/logGroup:LogGroup", (r) => delete r.inputs["retentionInDays"]),
    "log-retention: set retentionInDays on the log group",
  ],
  [
    "a blobs bucket that does not log its requests",
    () => {
      const g = structuredClone(graphs["prod"]!);
      return g.filter((r) => r.type !== "aws:s3/bucketLogging:BucketLogging");
    },
    "s3-access-logging: log the bucket's requests (aws.s3.BucketLogging) to the stack's log bucket",
  ],
  [
    "an ECS service that `up` does not wait for",
    () =>
      broken(
        "dev",
        "aws:ecs/service:Service",
        (r) => delete r.inputs["waitForSteadyState"],
        (r) => r.name === "platform-gw-identity-service",
      ),
    "ecs-steady-state: set waitForSteadyState on the service",
  ],
  [
    "the alarm topic under the AWS-managed SNS key",
    () =>
      broken("prod", "aws:sns/topic:Topic", (r) => (r.inputs["kmsMasterKeyId"] = "alias/aws/sns")),
    "alarm-topic-key: encrypt the topic with a customer-managed KMS key whose policy admits CloudWatch",
  ],
  [
    "a database without IAM authentication",
    () =>
      broken(
        "dev",
        "aws:rds/instance:Instance",
        (r) => (r.inputs["iamDatabaseAuthenticationEnabled"] = false),
      ),
    "database-credentials: turn on IAM database authentication, so that services need no password",
  ],
  [
    "a service's task role that reads the master secret again",
    () =>
      broken(
        "dev",
        "aws:iam/rolePolicy:RolePolicy",
        (r) => {
          const doc = JSON.parse(String(r.inputs["policy"])) as { Statement: unknown[] };
          doc.Statement.push({
            Effect: "Allow",
            Action: "secretsmanager:GetSecretValue",
            Resource: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-orders",
          });
          r.inputs["policy"] = JSON.stringify(doc);
        },
        (r) => r.name === "platform-orders-task",
      ),
    "database-credentials: a task role must not read the database's master secret: sign in as the service's own role",
  ],
  [
    "an untagged VPC",
    () => broken("prod", "aws:ec2/vpc:Vpc", (r) => delete tags(r)["project"]),
    "required-tags: missing tags: project",
  ],
  [
    "a single-AZ production database",
    () => broken("prod", "aws:rds/instance:Instance", (r) => (r.inputs["multiAz"] = false)),
    "production-hardening: production RDS must be multi-AZ",
  ],
  [
    "a production ALB without deletion protection",
    () =>
      broken(
        "prod",
        "aws:lb/loadBalancer:LoadBalancer",
        (r) => (r.inputs["enableDeletionProtection"] = false),
      ),
    "production-hardening: production load balancers must have deletion protection",
  ],
  [
    "the dev configuration deployed as prod (no HTTPS)",
    () => {
      const g = structuredClone(graphs["dev"]!);
      for (const r of g) if (r.inputs["tags"]) tags(r)["stack"] = "prod";
      return g;
    },
    "production-hardening: production load balancers must serve HTTPS",
  ],
])("the policy pack rejects %s", async (_label, graph, expected) => {
  expect(await failures(graph())).toContain(expected);
});

test("every policy of the pack is shown failing above", () => {
  const source = readFileSync(join(__dirname, "rules.test.ts"), "utf8");
  for (const p of policies) expect(source).toContain(`"${p.name}: `);
});

test("the untaggable list matches the provider's own type definitions", () => {
  const types = new Set(
    Object.values(graphs)
      .flat()
      .map((r) => r.type)
      .filter((t) => t.startsWith("aws:")),
  );
  const mismatches: string[] = [];
  for (const type of types) {
    // `aws:s3/bucketPolicy:BucketPolicy` is declared in @pulumi/aws/s3/bucketPolicy.d.ts.
    const [, module, file] = /^aws:([\w/]+)\/(\w+):\w+$/.exec(type)!;
    const path = join("node_modules/@pulumi/aws", module!, `${file}.d.ts`);
    const text = readFileSync(path, "utf8");
    const name = type.split(":").pop()!;
    const args = new RegExp(`export interface ${name}Args \\{([\\s\\S]*?)\\n\\}`).exec(text)?.[1];
    if (args === undefined) throw new Error(`no ${name}Args in ${path}`);
    const taggable = /\n\s+tags\?:/.test(args);
    if (taggable === untaggableTypes.has(type)) mismatches.push(type);
  }
  expect(mismatches).toEqual([]);
});
