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
