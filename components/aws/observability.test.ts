import { recordComponents, settle } from "../../test/plan/harness.ts";
import { mockAccount, mockArn, mockRegion } from "../../test/plan/mocks.ts";
import type { ObservabilityArgs } from "./observability.ts";
import { Observability } from "./observability.ts";

// The Observability component on its own, under the mocks: the alarms of every watched thing,
// all on one SNS topic encrypted with a key CloudWatch may use, and the dashboard.

const args = (over: Partial<ObservabilityArgs> = {}): ObservabilityArgs => ({
  loadBalancerArnSuffix: "app/edge/1",
  targetGroups: [{ label: "business", arnSuffix: "targetgroup/business/1" }],
  databases: [{ label: "orders", identifier: "orders-pg", storageGb: 20, maxConnections: 110 }],
  caches: [{ label: "orders", nodeIds: ["orders-redis-001", "orders-redis-002"] }],
  kafkaClusters: [{ label: "orders", clusterName: "orders-kafka", brokers: 2 }],
  deadLetterQueues: [
    { label: "orders", clusterName: "orders-kafka", topic: "orders.dlq", consumerGroup: "replay" },
  ],
  services: [{ label: "orders", clusterName: "cluster", serviceName: "orders", minTasks: 2 }],
  tags: { project: "p" },
  ...over,
});

async function build(over: Partial<ObservabilityArgs> = {}) {
  let observability: Observability | undefined;
  const records = await recordComponents(() => {
    observability = new Observability("obs", args(over));
  });
  return { records, observability: observability! };
}

const alarmType = "aws:cloudwatch/metricAlarm:MetricAlarm";
const topicArn = mockArn("aws:sns/topic:Topic", "obs-alarms");

test("every part of it is its own child", async () => {
  const { records } = await build({ alarmEmail: "ops@example.com" });
  const component = records.one("platform:aws:Observability", "obs");
  const others = records.all.filter((r) => r !== component);
  expect(others.length).toBeGreaterThan(0);
  for (const r of others)
    expect([r.type, r.name, r.parent]).toEqual([r.type, r.name, component.urn]);
});

test("an alarm topic encrypted with a rotating key whose policy admits CloudWatch of this account only", async () => {
  const { records } = await build();
  const key = records.one("aws:kms/key:Key", "obs-alarms");
  expect(key.inputs).toMatchObject({ enableKeyRotation: true, deletionWindowInDays: 7 });
  const policy = JSON.parse(String(key.inputs["policy"])) as {
    Statement: { Sid: string; Principal: unknown; Condition?: unknown }[];
  };
  expect(policy.Statement.map((s) => [s.Sid, s.Principal, s.Condition])).toEqual([
    ["AccountAdministers", { AWS: `arn:aws:iam::${mockAccount}:root` }, undefined],
    [
      "CloudWatchPublishesAlarms",
      { Service: "cloudwatch.amazonaws.com" },
      { StringEquals: { "aws:SourceAccount": mockAccount } },
    ],
  ]);
  expect(records.one("aws:sns/topic:Topic", "obs-alarms").inputs["kmsMasterKeyId"]).toBe(
    mockArn("aws:kms/key:Key", "obs-alarms"),
  );
  // Nobody subscribed unless an address is given.
  expect(records.byType("aws:sns/topicSubscription:TopicSubscription")).toEqual([]);
});

test("an alarm address is subscribed to the topic by email", async () => {
  const { records } = await build({ alarmEmail: "ops@example.com" });
  expect(
    records.one("aws:sns/topicSubscription:TopicSubscription", "obs-alarms-email").inputs,
  ).toMatchObject({ topic: topicArn, protocol: "email", endpoint: "ops@example.com" });
});

test("one alarm per failure mode of everything watched, each raising and clearing on the topic", async () => {
  const { records } = await build();
  const alarms = records.byType(alarmType);
  expect(alarms.map((a) => a.name).sort()).toEqual([
    "obs-alb-5xx",
    "obs-business-no-healthy",
    "obs-business-target-5xx",
    "obs-business-unhealthy",
    "obs-orders-db-connections",
    "obs-orders-db-cpu",
    "obs-orders-db-storage",
    "obs-orders-dlq-depth",
    "obs-orders-kafka-disk-1",
    "obs-orders-kafka-disk-2",
    "obs-orders-redis-evictions-1",
    "obs-orders-redis-evictions-2",
    "obs-orders-redis-memory-1",
    "obs-orders-redis-memory-2",
    "obs-orders-tasks",
  ]);
  for (const a of alarms)
    expect([a.name, a.inputs["alarmActions"], a.inputs["okActions"]]).toEqual([
      a.name,
      [topicArn],
      [topicArn],
    ]);
});

test("thresholds follow the watched things and the defaults, overridable", async () => {
  const threshold = (records: Awaited<ReturnType<typeof build>>["records"], name: string) =>
    records.one(alarmType, `obs-${name}`).inputs["threshold"];
  const { records } = await build();
  expect(threshold(records, "orders-db-connections")).toBe(88);
  expect(threshold(records, "orders-db-storage")).toBe(2 * 1024 ** 3);
  expect(threshold(records, "orders-tasks")).toBe(2);
  expect(threshold(records, "alb-5xx")).toBe(10);
  expect(threshold(records, "orders-dlq-depth")).toBe(100);
  const tuned = await build({ max5xxPerMinute: 3, maxConnectionsPercent: 50, maxDeadLetters: 5 });
  expect(threshold(tuned.records, "alb-5xx")).toBe(3);
  expect(threshold(tuned.records, "business-target-5xx")).toBe(3);
  expect(threshold(tuned.records, "orders-db-connections")).toBe(55);
  expect(threshold(tuned.records, "orders-dlq-depth")).toBe(5);
});

test("a tier without any healthy target alarms even when the metric is missing; the rest do not", async () => {
  const { records } = await build();
  const missing = Object.fromEntries(
    records.byType(alarmType).map((a) => [a.name, a.inputs["treatMissingData"]]),
  );
  expect(missing["obs-business-no-healthy"]).toBe("breaching");
  expect(Object.values(missing).filter((m) => m !== "notBreaching")).toEqual(["breaching"]);
  expect(records.one(alarmType, "obs-business-no-healthy").inputs["dimensions"]).toEqual({
    LoadBalancer: "app/edge/1",
    TargetGroup: "targetgroup/business/1",
  });
  expect(records.one(alarmType, "obs-orders-kafka-disk-2").inputs["dimensions"]).toEqual({
    "Cluster Name": "orders-kafka",
    "Broker ID": "2",
  });
});

test("a dashboard named for the stack, in the stack's region, and its outputs", async () => {
  const { records, observability } = await build();
  const dashboard = records.one("aws:cloudwatch/dashboard:Dashboard", "obs-dashboard");
  expect(dashboard.inputs["dashboardName"]).toBe("obs-dev");
  const body = JSON.parse(String(dashboard.inputs["dashboardBody"])) as {
    widgets: { properties: { title: string; region: string; metrics: unknown[][] } }[];
  };
  expect(body.widgets.map((w) => [w.properties.region, w.properties.metrics.length])).toEqual([
    [mockRegion, 3],
    [mockRegion, 1],
    [mockRegion, 1],
    [mockRegion, 3],
  ]);
  expect(await settle(observability.alarmTopicArn)).toBe(topicArn);
  expect(await settle(observability.dashboardName)).toBe("obs-dev");
  expect(observability.alarmNames).toHaveLength(15);
});
