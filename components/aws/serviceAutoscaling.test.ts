import { recordComponents } from "../../test/plan/harness.ts";
import { ServiceAutoscaling } from "./serviceAutoscaling.ts";

// The ServiceAutoscaling component on its own, under the mocks.

test("tracks average CPU between the floor and the ceiling, out fast and in slowly", async () => {
  const records = await recordComponents(
    () =>
      new ServiceAutoscaling("orders", {
        clusterName: "cluster",
        serviceName: "orders-service",
        minTasks: 2,
        maxTasks: 6,
        tags: { project: "p" },
      }),
  );
  expect(records.one("aws:appautoscaling/target:Target", "orders-scaling").inputs).toMatchObject({
    serviceNamespace: "ecs",
    scalableDimension: "ecs:service:DesiredCount",
    resourceId: "service/cluster/orders-service",
    minCapacity: 2,
    maxCapacity: 6,
  });
  expect(records.one("aws:appautoscaling/policy:Policy", "orders-cpu").inputs).toMatchObject({
    policyType: "TargetTrackingScaling",
    resourceId: "service/cluster/orders-service",
    targetTrackingScalingPolicyConfiguration: {
      targetValue: 60,
      predefinedMetricSpecification: { predefinedMetricType: "ECSServiceAverageCPUUtilization" },
      scaleOutCooldown: 60,
      scaleInCooldown: 300,
    },
  });
});

test("with a queue, also tracks the waiting items per running task (backlog per task)", async () => {
  const records = await recordComponents(
    () =>
      new ServiceAutoscaling("render", {
        clusterName: "cluster",
        serviceName: "render-service",
        minTasks: 2,
        maxTasks: 6,
        queue: {
          namespace: "Platform/platform-dev",
          metricName: "render_scenes_waiting",
          dimensions: { Service: "render" },
          perTask: 2,
        },
      }),
  );
  expect(records.byType("aws:appautoscaling/policy:Policy").map((p) => p.name)).toEqual([
    "render-cpu",
    "render-queue",
  ]);
  const config = records.one("aws:appautoscaling/policy:Policy", "render-queue").inputs[
    "targetTrackingScalingPolicyConfiguration"
  ] as {
    targetValue: number;
    customizedMetricSpecification: {
      metrics: { id: string; expression?: string; returnData: boolean; metricStat?: unknown }[];
    };
  };
  expect(config.targetValue).toBe(2);
  const [waiting, tasks, backlog] = config.customizedMetricSpecification.metrics;
  expect(waiting).toMatchObject({
    id: "waiting",
    returnData: false,
    metricStat: {
      metric: {
        namespace: "Platform/platform-dev",
        metricName: "render_scenes_waiting",
        dimensions: [{ name: "Service", value: "render" }],
      },
    },
  });
  expect(tasks).toMatchObject({
    id: "tasks",
    metricStat: {
      metric: {
        namespace: "ECS/ContainerInsights",
        metricName: "RunningTaskCount",
        dimensions: [
          { name: "ClusterName", value: "cluster" },
          { name: "ServiceName", value: "render-service" },
        ],
      },
    },
  });
  // Exactly one series is the policy's metric: the backlog per task.
  expect(backlog).toEqual({ id: "backlog", expression: "waiting / tasks", returnData: true });
});

test("refuses a ceiling below the floor", async () => {
  await expect(
    recordComponents(
      () =>
        new ServiceAutoscaling("g", {
          clusterName: "c",
          serviceName: "s",
          minTasks: 3,
          maxTasks: 2,
        }),
    ),
  ).rejects.toThrow("g: maxTasks (2) is below minTasks (3)");
});
