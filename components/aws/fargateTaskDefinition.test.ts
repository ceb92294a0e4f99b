import { recordComponents } from "../../test/plan/harness.ts";
import type { FargateTaskDefinitionArgs } from "./fargateTaskDefinition.ts";
import {
  FargateTaskDefinition,
  ecsExecStatement,
  ecsExecWritablePaths,
} from "./fargateTaskDefinition.ts";

// The FargateTaskDefinition component on its own, under the mocks: the container as ECS runs it,
// and roles that allow what starting and running it needs, nothing else.

const REPO = "arn:aws:ecr:us-east-1:123456789012:repository/platform";
const SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:token-AbCdEf";
const args = (over: Partial<FargateTaskDefinitionArgs> = {}): FargateTaskDefinitionArgs => ({
  image: "repo/platform@sha256:abc",
  repositoryArn: REPO,
  command: ["services/orders/main.ts"],
  containerPort: 8080,
  cpu: 256,
  memory: 512,
  environment: { PORT: "8080", DOMAIN: "business" },
  secrets: [{ name: "ADMIN_TOKEN", secretArn: SECRET }],
  logStreamPrefix: "orders",
  logRetentionDays: 14,
  tags: { project: "p" },
  ...over,
});

type Policy = { Statement: { Sid?: string; Action: string | string[]; Resource: unknown }[] };
const policyOf = (records: Awaited<ReturnType<typeof recordComponents>>, name: string) =>
  JSON.parse(String(records.one("aws:iam/rolePolicy:RolePolicy", name).inputs["policy"])) as Policy;

test("one read-only, non-root container with its env sorted, its secrets by ARN and a health check", async () => {
  const records = await recordComponents(() => new FargateTaskDefinition("orders", args()));
  const task = records.one("aws:ecs/taskDefinition:TaskDefinition", "orders-task");
  expect(task.inputs).toMatchObject({
    family: "orders-dev",
    cpu: "256",
    memory: "512",
    networkMode: "awsvpc",
    requiresCompatibilities: ["FARGATE"],
    volumes: [{ name: "writable-0" }],
  });
  const [container, ...others] = JSON.parse(String(task.inputs["containerDefinitions"])) as {
    [key: string]: unknown;
  }[];
  expect(others).toEqual([]);
  expect(container).toMatchObject({
    name: FargateTaskDefinition.containerName,
    image: "repo/platform@sha256:abc",
    command: ["services/orders/main.ts"],
    user: "10001:10001",
    readonlyRootFilesystem: true,
    portMappings: [{ containerPort: 8080, protocol: "tcp" }],
    environment: [
      { name: "DOMAIN", value: "business" },
      { name: "PORT", value: "8080" },
    ],
    secrets: [{ name: "ADMIN_TOKEN", valueFrom: SECRET }],
    mountPoints: [{ sourceVolume: "writable-0", containerPath: "/tmp", readOnly: false }],
    linuxParameters: { initProcessEnabled: true },
    stopTimeout: 15,
    logConfiguration: { options: { "awslogs-stream-prefix": "orders" } },
  });
  expect(records.one("aws:cloudwatch/logGroup:LogGroup", "orders-logs").inputs).toMatchObject({
    retentionInDays: 14,
  });
});

test("the execution role pulls from its repository and reads its secrets; the task role starts empty", async () => {
  const records = await recordComponents(() => new FargateTaskDefinition("orders", args()));
  const exec = policyOf(records, "orders-exec").Statement;
  expect(exec.find((s) => [s.Action].flat().includes("ecr:BatchGetImage"))!.Resource).toBe(REPO);
  expect(exec.find((s) => s.Action === "secretsmanager:GetSecretValue")!.Resource).toEqual([
    SECRET,
  ]);
  // Without statements or ECS Exec, the task role has no policy at all.
  expect(records.byType("aws:iam/rolePolicy:RolePolicy").map((r) => r.name)).toEqual([
    "orders-exec",
  ]);
});

test("ECS Exec adds the SSM channels, the audit statements and the agent's writable mounts", async () => {
  const audit = { Sid: "Audit", Effect: "Allow", Action: "kms:Decrypt", Resource: "k" };
  const records = await recordComponents(
    () =>
      new FargateTaskDefinition(
        "gw",
        args({ execCommand: true, execAuditStatements: [audit], writablePaths: ["/data"] }),
      ),
  );
  expect(policyOf(records, "gw-task").Statement).toEqual([ecsExecStatement, audit]);
  const task = records.one("aws:ecs/taskDefinition:TaskDefinition", "gw-task");
  const [container] = JSON.parse(String(task.inputs["containerDefinitions"])) as {
    mountPoints: { containerPath: string }[];
  }[];
  expect(container!.mountPoints.map((m) => m.containerPath)).toEqual([
    "/data",
    ...ecsExecWritablePaths,
  ]);
});
