import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";

export interface ServiceAutoscalingArgs {
  /** The cluster's name, which Application Auto Scaling addresses services by. */
  clusterName: pulumi.Input<string>;
  serviceName: pulumi.Input<string>;
  /** The floor and the ceiling of the task count. */
  minTasks: number;
  maxTasks: number;
  /** Average CPU (percent) that target tracking keeps the tasks at. Default 60. */
  targetCpuPercent?: number;
  tags?: Record<string, string>;
}

/** CPU target tracking of one ECS service's task count, between a floor and a ceiling. */
export class ServiceAutoscaling extends pulumi.ComponentResource {
  constructor(name: string, args: ServiceAutoscalingArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:aws:ServiceAutoscaling", name, {}, opts);
    if (args.maxTasks < args.minTasks)
      throw new Error(`${name}: maxTasks (${args.maxTasks}) is below minTasks (${args.minTasks})`);
    const parent = { parent: this };
    const scaling = new aws.appautoscaling.Target(
      `${name}-scaling`,
      {
        serviceNamespace: "ecs",
        scalableDimension: "ecs:service:DesiredCount",
        resourceId: pulumi.interpolate`service/${args.clusterName}/${args.serviceName}`,
        minCapacity: args.minTasks,
        maxCapacity: args.maxTasks,
        tags: args.tags ?? {},
      },
      parent,
    );
    new aws.appautoscaling.Policy(
      `${name}-cpu`,
      {
        policyType: "TargetTrackingScaling",
        serviceNamespace: scaling.serviceNamespace,
        scalableDimension: scaling.scalableDimension,
        resourceId: scaling.resourceId,
        targetTrackingScalingPolicyConfiguration: {
          targetValue: args.targetCpuPercent ?? 60,
          predefinedMetricSpecification: {
            predefinedMetricType: "ECSServiceAverageCPUUtilization",
          },
          // Out fast on load, in slowly so a burst does not flap the task count.
          scaleOutCooldown: 60,
          scaleInCooldown: 300,
        },
      },
      parent,
    );
    this.registerOutputs({});
  }
}
