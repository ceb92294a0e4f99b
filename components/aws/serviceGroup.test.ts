import { recordComponents } from "../../test/plan/harness.ts";
import type { ServiceGroupArgs } from "./serviceGroup.ts";
import { ServiceGroup } from "./serviceGroup.ts";

// The ServiceGroup component on its own, under the mocks: the ECS service and its Cloud Map
// name, built over its FargateTaskDefinition, TaskSecurityGroup and ServiceAutoscaling.

const args = (over: Partial<ServiceGroupArgs> = {}): ServiceGroupArgs => ({
  clusterArn: "arn:cluster",
  clusterName: "cluster",
  vpcId: "vpc-1",
  vpcCidrBlock: "10.0.0.0/16",
  s3PrefixListId: "pl-s3",
  subnetIds: ["subnet-a", "subnet-b"],
  namespaceId: "ns-1",
  discoveryName: "orders",
  image: "repo/platform@sha256:abc",
  repositoryArn: "arn:repo",
  command: ["services/orders/main.ts"],
  containerPort: 8080,
  cpu: 256,
  memory: 512,
  replicas: 2,
  maxReplicas: 6,
  environment: {},
  memberOfSecurityGroupIds: ["sg-pg-clients"],
  tags: { project: "p" },
  ...over,
});

test("runs the replicas in its own and its stores' groups, named in Cloud Map, rolling back on failure", async () => {
  const records = await recordComponents(() => new ServiceGroup("orders", args()));
  const service = records.one("aws:ecs/service:Service", "orders-service");
  expect(service.inputs).toMatchObject({
    cluster: "arn:cluster",
    taskDefinition: expect.stringContaining("orders-task"),
    launchType: "FARGATE",
    desiredCount: 2,
    deploymentMinimumHealthyPercent: 100,
    deploymentCircuitBreaker: { enable: true, rollback: true },
    waitForSteadyState: true,
    networkConfiguration: {
      subnets: ["subnet-a", "subnet-b"],
      securityGroups: ["securitygroup-orders-sg", "sg-pg-clients"],
      assignPublicIp: false,
    },
    loadBalancers: [],
  });
  expect(service.inputs["healthCheckGracePeriodSeconds"]).toBeUndefined();
  expect(service.customTimeouts).toMatchObject({ create: "15m", update: "15m" });
  expect(
    records.one("aws:servicediscovery/service:Service", "orders-discovery").inputs,
  ).toMatchObject({
    name: "orders",
    dnsConfig: { namespaceId: "ns-1", routingPolicy: "MULTIVALUE" },
  });
  expect(records.one("aws:appautoscaling/target:Target", "orders-scaling").inputs).toMatchObject({
    minCapacity: 2,
    maxCapacity: 6,
  });
});

test("registers in its target groups, with a grace period before health checks count", async () => {
  const records = await recordComponents(
    () => new ServiceGroup("gw", args({ targetGroupArns: ["arn:tg"] })),
  );
  expect(records.one("aws:ecs/service:Service", "gw-service").inputs).toMatchObject({
    loadBalancers: [{ targetGroupArn: "arn:tg", containerName: "app", containerPort: 8080 }],
    healthCheckGracePeriodSeconds: 30,
  });
});

test("the resources it declared itself before its parts were components keep their state", async () => {
  const records = await recordComponents(() => new ServiceGroup("orders", args()));
  const group = records.one("platform:aws:ServiceGroup", "orders");
  const parts = records.childrenOf(group).filter((r) => r.type.startsWith("platform:"));
  expect(parts.map((p) => p.type).sort()).toEqual([
    "platform:aws:FargateTaskDefinition",
    "platform:aws:ServiceAutoscaling",
    "platform:aws:TaskSecurityGroup",
  ]);
  for (const r of parts.flatMap((p) => records.childrenOf(p))) {
    const former = `urn:pulumi:dev::platform::platform:aws:ServiceGroup$${r.type}::${r.name}`;
    expect([r.name, r.aliases]).toEqual([r.name, expect.arrayContaining([former])]);
  }
});

test("refuses fewer than one replica, or no subnet", async () => {
  await expect(
    recordComponents(() => new ServiceGroup("g", args({ replicas: 0 }))),
  ).rejects.toThrow("g: replicas must be at least 1");
  await expect(
    recordComponents(() => new ServiceGroup("g", args({ subnetIds: [] }))),
  ).rejects.toThrow("g: needs at least one subnet");
});
