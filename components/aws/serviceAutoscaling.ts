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
  /**
   * A queue whose depth the service reports to CloudWatch: a second target tracking keeps the
   * waiting items per running task at `perTask` (the larger of the two policies' counts wins).
   */
  queue?: {
    namespace: string;
    metricName: string;
    dimensions: Record<string, string>;
    perTask: number;
  };
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
    if (args.queue) {
      const { namespace, metricName, dimensions, perTask } = args.queue;
      const tasks = {
        namespace: "ECS/ContainerInsights",
        metricName: "RunningTaskCount",
        dimensions: [
          { name: "ClusterName", value: args.clusterName },
          { name: "ServiceName", value: args.serviceName },
        ],
      };
      new aws.appautoscaling.Policy(
        `${name}-queue`,
        {
          policyType: "TargetTrackingScaling",
          serviceNamespace: scaling.serviceNamespace,
          scalableDimension: scaling.scalableDimension,
          resourceId: scaling.resourceId,
          targetTrackingScalingPolicyConfiguration: {
            targetValue: perTask,
            // Backlog per task (AWS's recipe for queue workers): the depth over the tasks
            // running, so the count grows with the queue and not with how long it waited.
            customizedMetricSpecification: {
              metrics: [
                {
                  id: "waiting",
                  metricStat: {
                    metric: {
                      namespace,
                      metricName,
                      dimensions: Object.entries(dimensions).map(([n, value]) => ({
                        name: n,
                        value,
                      })),
                    },
                    stat: "Maximum",
                  },
                  returnData: false,
                },
                { id: "tasks", metricStat: { metric: tasks, stat: "Average" }, returnData: false },
                { id: "backlog", expression: "waiting / tasks", returnData: true },
              ],
            },
            scaleOutCooldown: 60,
            scaleInCooldown: 300,
          },
        },
        parent,
      );
    }
    this.registerOutputs({});
  }
}
