import type { ResourceRecord } from "../../test/plan/records.ts";
import { checkDeployment, type StateResource } from "./checks.ts";

const urn = (type: string, name: string) => `urn:pulumi:dev::platform::${type}::${name}`;
const planned = (type: string, name: string, inputs = {}): ResourceRecord => ({
  urn: urn(type, name),
  type,
  name,
  inputs,
});
const deployed = (type: string, name: string, outputs = {}): StateResource => ({
  urn: urn(type, name),
  type,
  custom: true,
  outputs,
});
const RULE = "aws:lb/listenerRule:ListenerRule";
const rule = (values: string[]) => ({ conditions: [{ pathPattern: { values } }] });

const plan = [
  planned("platform:aws:ServiceGroup", "orders"),
  planned(RULE, "orders", rule(["/v1/orders", "/v1/orders/*"])),
  planned("aws:ecs/taskDefinition:TaskDefinition", "orders"),
  planned("aws:ecs/service:Service", "orders"),
  planned("aws:sns/topic:Topic", "alarms"),
  planned("aws:cloudwatch/metricAlarm:MetricAlarm", "orders-5xx"),
];
const good = [
  deployed(RULE, "orders", rule(["/v1/orders/*", "/v1/orders"])),
  deployed("aws:ecs/taskDefinition:TaskDefinition", "orders", { arn: "arn:td:orders:1" }),
  deployed("aws:ecs/service:Service", "orders", { taskDefinition: "arn:td:orders:1" }),
  deployed("aws:sns/topic:Topic", "alarms", { arn: "arn:sns:alarms" }),
  deployed("aws:cloudwatch/metricAlarm:MetricAlarm", "orders-5xx", {
    alarmActions: ["arn:sns:alarms"],
  }),
];

test("a deployment of everything declared, wired as declared, passes", () => {
  expect(checkDeployment(plan, good, new Map())).toEqual({
    problems: [],
    summary: "emulate:aws: 5 of 5 declared resources deployed",
  });
});

test("each check fails on what it is there to catch", () => {
  const bad = [
    deployed(RULE, "orders", rule(["/v1/order"])),
    deployed("aws:ecs/service:Service", "orders", { taskDefinition: "arn:td:gone" }),
    deployed("aws:sns/topic:Topic", "alarms", { arn: "arn:sns:alarms" }),
    deployed("aws:cloudwatch/metricAlarm:MetricAlarm", "orders-5xx", { alarmActions: [] }),
  ];
  expect(checkDeployment(plan, bad, new Map()).problems).toEqual([
    expect.stringMatching(/^1 declared resources are not in the state: aws:ecs\/taskDefinition/),
    "the ALB's listener rules route /v1/order; the catalog's routes are /v1/orders /v1/orders/*",
    "ECS service orders runs arn:td:gone, not a deployed task definition",
    "alarm orders-5xx notifies nothing, not the alarm topic",
  ]);
});

test("what a failed resource kept from deploying is reported as the failure, not again", () => {
  const failed = new Map([[urn("aws:ecs/taskDefinition:TaskDefinition", "orders"), "no image"]]);
  const partial = good.filter((r) => !r.type.startsWith("aws:ecs/"));
  expect(checkDeployment(plan, partial, failed).problems).toEqual([]);
});
