import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { accountAdministers } from "./keyPolicy.ts";

export interface ObservedTargetGroup {
  /** Label used in alarm names, e.g. the tier. */
  label: string;
  arnSuffix: pulumi.Input<string>;
}

export interface ObservedDatabase {
  label: string;
  identifier: pulumi.Input<string>;
  /** Allocated storage, to alarm when less than `freeStoragePercent` of it is left. */
  storageGb: number;
  /** The instance's connection limit (max_connections), to alarm before clients are refused. */
  maxConnections: number;
}

/** A domain's dead-letter queue on Kafka: requests parked until their service answers again. */
export interface ObservedDeadLetterQueue {
  label: string;
  clusterName: pulumi.Input<string>;
  topic: string;
  /** The replayers' consumer group: its lag on `topic` is the number of requests waiting. */
  consumerGroup: string;
}

/** A provisioned MSK cluster, whose brokers' disks can fill. */
export interface ObservedKafka {
  label: string;
  clusterName: pulumi.Input<string>;
  /** Brokers are numbered 1 to `brokers`. */
  brokers: number;
}

export interface ObservedCache {
  label: string;
  nodeIds: pulumi.Input<string>[];
}

export interface ObservedService {
  label: string;
  clusterName: pulumi.Input<string>;
  serviceName: pulumi.Input<string>;
  /** Tasks the service should always run (its scaling floor); fewer raise the alarm. */
  minTasks: number;
}

export interface ObservabilityArgs {
  /** The public ALB's `arnSuffix` (`app/<name>/<id>`). */
  loadBalancerArnSuffix: pulumi.Input<string>;
  targetGroups: ObservedTargetGroup[];
  databases: ObservedDatabase[];
  caches: ObservedCache[];
  /** Provisioned MSK clusters (serverless MSK has no disks to watch). */
  kafkaClusters: ObservedKafka[];
  deadLetterQueues: ObservedDeadLetterQueue[];
  /** Requests waiting in a dead-letter queue for 15 minutes that raise the alarm. Default 100. */
  maxDeadLetters?: number;
  /** ECS services: on the dashboard, and alarmed when they run fewer tasks than their floor. */
  services: ObservedService[];
  /** Subscribed to the alarm topic by email (the recipient confirms it). */
  alarmEmail?: string;
  /** ALB-generated 5xx answers per minute that raise the alarm. Default 10. */
  max5xxPerMinute?: number;
  /** Average RDS CPU (percent) over 10 minutes that raises the alarm. Default 80. */
  maxDatabaseCpuPercent?: number;
  /** Free RDS storage (percent of allocated) under which the alarm rises. Default 10. */
  freeStoragePercent?: number;
  /** Redis memory use (percent) that raises the alarm. Default 80. */
  maxCacheMemoryPercent?: number;
  /** Share (percent) of a database's connection limit in use that raises the alarm. Default 80. */
  maxConnectionsPercent?: number;
  /** Use (percent) of an MSK broker's data disk that raises the alarm. Default 80. */
  maxKafkaDiskPercent?: number;
  tags?: Record<string, string>;
}

/**
 * The alarm key's policy: the account administers it (without this statement no one could), and
 * CloudWatch, acting for this account, may encrypt what it publishes to the topic.
 */
export function alarmKeyPolicy(accountId: string, partition: string) {
  return {
    Version: "2012-10-17",
    Statement: [
      accountAdministers(accountId, partition),
      {
        Sid: "CloudWatchPublishesAlarms",
        Effect: "Allow",
        Principal: { Service: "cloudwatch.amazonaws.com" },
        Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
        Resource: "*",
        Condition: { StringEquals: { "aws:SourceAccount": accountId } },
      },
    ],
  };
}

/**
 * The platform's alarms and its dashboard. Every alarm notifies one encrypted SNS topic: the
 * routing tier or a gateway tier answering 5xx, a tier with unhealthy targets or none healthy at
 * all, a service running fewer tasks than its floor, a database short of CPU, storage or
 * connections, a Redis node short of memory or evicting keys, an MSK broker's disk filling, a
 * dead-letter queue that does not drain. Log groups belong to the components that write them
 * (each with its retention); this one reads metrics only.
 */
export class Observability extends pulumi.ComponentResource {
  public readonly alarmTopicArn: pulumi.Output<string>;
  public readonly dashboardName: pulumi.Output<string>;
  public readonly alarmNames: pulumi.Output<string>[];

  constructor(name: string, args: ObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:aws:Observability", name, {}, opts);
    const tags = args.tags ?? {};
    const parent = { parent: this };

    // CloudWatch cannot publish to a topic encrypted with the AWS-managed `alias/aws/sns` key,
    // whose policy no one can change: the alarms would fire and nobody would hear. A
    // customer-managed key whose policy admits CloudWatch, from this account only.
    // https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
    const account = aws.getCallerIdentityOutput({}, parent).accountId;
    const partition = aws.getPartitionOutput({}, parent).partition;
    const key = new aws.kms.Key(
      `${name}-alarms`,
      {
        description: `${name}: the alarm topic`,
        enableKeyRotation: true,
        deletionWindowInDays: 7,
        policy: pulumi
          .all([account, partition])
          .apply(([accountId, p]) => JSON.stringify(alarmKeyPolicy(accountId, p))),
        tags,
      },
      parent,
    );
    const topic = new aws.sns.Topic(`${name}-alarms`, { kmsMasterKeyId: key.arn, tags }, parent);
    if (args.alarmEmail) {
      new aws.sns.TopicSubscription(
        `${name}-alarms-email`,
        { topic: topic.arn, protocol: "email", endpoint: args.alarmEmail },
        parent,
      );
    }

    const alarm = (
      label: string,
      spec: Omit<aws.cloudwatch.MetricAlarmArgs, "alarmActions" | "okActions" | "tags">,
    ) =>
      new aws.cloudwatch.MetricAlarm(
        `${name}-${label}`,
        {
          // No data means no traffic or no node yet, which is not an incident, unless the spec
          // says otherwise.
          treatMissingData: "notBreaching",
          ...spec,
          alarmActions: [topic.arn],
          okActions: [topic.arn],
          tags,
        },
        parent,
      );

    // 5xx answers per minute, at the ALB itself or from a tier's targets.
    const fivexx = {
      namespace: "AWS/ApplicationELB",
      statistic: "Sum",
      period: 60,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      threshold: args.max5xxPerMinute ?? 10,
      comparisonOperator: "GreaterThanThreshold",
    } as const;
    const alarms: aws.cloudwatch.MetricAlarm[] = [
      alarm("alb-5xx", {
        ...fivexx,
        alarmDescription: "The routing ALB answers 5xx itself (no healthy target, timeouts).",
        metricName: "HTTPCode_ELB_5XX_Count",
        dimensions: { LoadBalancer: args.loadBalancerArnSuffix },
      }),
      ...args.targetGroups.flatMap((tg) => [
        alarm(`${tg.label}-no-healthy`, {
          alarmDescription: `${tg.label}: no target passes its health check; the tier is down.`,
          namespace: "AWS/ApplicationELB",
          metricName: "HealthyHostCount",
          dimensions: { LoadBalancer: args.loadBalancerArnSuffix, TargetGroup: tg.arnSuffix },
          statistic: "Minimum",
          period: 60,
          evaluationPeriods: 2,
          threshold: 1,
          comparisonOperator: "LessThanThreshold",
          // No datapoint for a target group means no healthy host was counted.
          treatMissingData: "breaching",
        }),
        alarm(`${tg.label}-target-5xx`, {
          ...fivexx,
          alarmDescription: `${tg.label}: the gateways answer 5xx (a service or store failing).`,
          metricName: "HTTPCode_Target_5XX_Count",
          dimensions: { LoadBalancer: args.loadBalancerArnSuffix, TargetGroup: tg.arnSuffix },
        }),
        alarm(`${tg.label}-unhealthy`, {
          alarmDescription: `${tg.label}: a target fails its /readyz health check.`,
          namespace: "AWS/ApplicationELB",
          metricName: "UnHealthyHostCount",
          dimensions: { LoadBalancer: args.loadBalancerArnSuffix, TargetGroup: tg.arnSuffix },
          statistic: "Maximum",
          period: 60,
          evaluationPeriods: 3,
          threshold: 0,
          comparisonOperator: "GreaterThanThreshold",
        }),
      ]),
      ...args.services.map((s) =>
        alarm(`${s.label}-tasks`, {
          alarmDescription: `${s.label}: fewer than ${s.minTasks} tasks running (crash loop, failed deployment, capacity).`,
          namespace: "ECS/ContainerInsights",
          metricName: "RunningTaskCount",
          dimensions: { ClusterName: s.clusterName, ServiceName: s.serviceName },
          statistic: "Minimum",
          period: 60,
          evaluationPeriods: 5,
          datapointsToAlarm: 3,
          threshold: s.minTasks,
          comparisonOperator: "LessThanThreshold",
        }),
      ),
      ...args.databases.flatMap((db) => [
        alarm(`${db.label}-db-connections`, {
          alarmDescription: `${db.label}: database connections near max_connections (${db.maxConnections}).`,
          namespace: "AWS/RDS",
          metricName: "DatabaseConnections",
          dimensions: { DBInstanceIdentifier: db.identifier },
          statistic: "Maximum",
          period: 300,
          evaluationPeriods: 2,
          threshold: Math.floor((db.maxConnections * (args.maxConnectionsPercent ?? 80)) / 100),
          comparisonOperator: "GreaterThanThreshold",
        }),
        alarm(`${db.label}-db-cpu`, {
          alarmDescription: `${db.label}: database CPU is high.`,
          namespace: "AWS/RDS",
          metricName: "CPUUtilization",
          dimensions: { DBInstanceIdentifier: db.identifier },
          statistic: "Average",
          period: 300,
          evaluationPeriods: 2,
          threshold: args.maxDatabaseCpuPercent ?? 80,
          comparisonOperator: "GreaterThanThreshold",
        }),
        alarm(`${db.label}-db-storage`, {
          alarmDescription: `${db.label}: database storage is running out.`,
          namespace: "AWS/RDS",
          metricName: "FreeStorageSpace",
          dimensions: { DBInstanceIdentifier: db.identifier },
          statistic: "Minimum",
          period: 300,
          evaluationPeriods: 1,
          threshold: (db.storageGb * 1024 ** 3 * (args.freeStoragePercent ?? 10)) / 100,
          comparisonOperator: "LessThanThreshold",
        }),
      ]),
      ...args.caches.flatMap((cache) =>
        cache.nodeIds.flatMap((nodeId, i) => {
          const node = { namespace: "AWS/ElastiCache", dimensions: { CacheClusterId: nodeId } };
          return [
            alarm(`${cache.label}-redis-memory-${i + 1}`, {
              ...node,
              alarmDescription: `${cache.label}: Redis node ${i + 1} memory is nearly full.`,
              metricName: "DatabaseMemoryUsagePercentage",
              statistic: "Maximum",
              period: 300,
              evaluationPeriods: 2,
              threshold: args.maxCacheMemoryPercent ?? 80,
              comparisonOperator: "GreaterThanThreshold",
            }),
            alarm(`${cache.label}-redis-evictions-${i + 1}`, {
              ...node,
              alarmDescription: `${cache.label}: Redis node ${i + 1} evicts keys (rate-limit counters and sessions among them).`,
              metricName: "Evictions",
              statistic: "Sum",
              period: 300,
              evaluationPeriods: 1,
              threshold: 0,
              comparisonOperator: "GreaterThanThreshold",
            }),
          ];
        }),
      ),
      ...args.deadLetterQueues.map((q) =>
        alarm(`${q.label}-dlq-depth`, {
          alarmDescription: `${q.label}: requests wait in the dead-letter queue (${q.topic}); a service has been failing for a while.`,
          namespace: "AWS/Kafka",
          metricName: "SumOffsetLag",
          dimensions: {
            "Cluster Name": q.clusterName,
            "Consumer Group": q.consumerGroup,
            Topic: q.topic,
          },
          statistic: "Maximum",
          period: 300,
          evaluationPeriods: 3,
          threshold: args.maxDeadLetters ?? 100,
          comparisonOperator: "GreaterThanThreshold",
        }),
      ),
      ...args.kafkaClusters.flatMap((k) =>
        Array.from({ length: k.brokers }, (_, i) =>
          alarm(`${k.label}-kafka-disk-${i + 1}`, {
            alarmDescription: `${k.label}: MSK broker ${i + 1}'s data disk is filling (storage autoscaling lags or is at its ceiling).`,
            namespace: "AWS/Kafka",
            metricName: "KafkaDataLogsDiskUsed",
            dimensions: { "Cluster Name": k.clusterName, "Broker ID": String(i + 1) },
            statistic: "Maximum",
            period: 300,
            evaluationPeriods: 2,
            threshold: args.maxKafkaDiskPercent ?? 80,
            comparisonOperator: "GreaterThanThreshold",
          }),
        ),
      ),
    ];

    const region = aws.getRegionOutput({}, parent).region;
    const widget = (title: string, metrics: pulumi.Input<unknown[]>[], x: number, y: number) =>
      pulumi.all([region, pulumi.all(metrics)]).apply(([regionName, rows]) => ({
        type: "metric",
        x,
        y,
        width: 12,
        height: 6,
        properties: { title, region: regionName, metrics: rows, period: 60, stat: "Sum" },
      }));
    const lb = args.loadBalancerArnSuffix;
    const widgets = [
      widget(
        "Requests and errors at the routing ALB",
        [
          pulumi.all(["AWS/ApplicationELB", "RequestCount", "LoadBalancer", lb]),
          pulumi.all(["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "LoadBalancer", lb]),
          pulumi.all(["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", lb]),
        ],
        0,
        0,
      ),
      widget(
        "Healthy targets per gateway tier",
        args.targetGroups.map((tg) =>
          pulumi.all([
            "AWS/ApplicationELB",
            "HealthyHostCount",
            "LoadBalancer",
            lb,
            "TargetGroup",
            tg.arnSuffix,
            { stat: "Minimum", label: tg.label },
          ]),
        ),
        12,
        0,
      ),
      widget(
        "ECS CPU per service (percent)",
        args.services.map((s) =>
          pulumi.all([
            "AWS/ECS",
            "CPUUtilization",
            "ClusterName",
            s.clusterName,
            "ServiceName",
            s.serviceName,
            { stat: "Average", label: s.label },
          ]),
        ),
        0,
        6,
      ),
      widget(
        "Databases CPU and Redis memory (percent)",
        [
          ...args.databases.map((db) =>
            pulumi.all([
              "AWS/RDS",
              "CPUUtilization",
              "DBInstanceIdentifier",
              db.identifier,
              { stat: "Average", label: `${db.label} db cpu` },
            ]),
          ),
          ...args.caches.flatMap((cache) =>
            cache.nodeIds.map((nodeId, i) =>
              pulumi.all([
                "AWS/ElastiCache",
                "DatabaseMemoryUsagePercentage",
                "CacheClusterId",
                nodeId,
                { stat: "Maximum", label: `${cache.label} redis ${i + 1}` },
              ]),
            ),
          ),
        ],
        12,
        6,
      ),
    ];
    const dashboard = new aws.cloudwatch.Dashboard(
      `${name}-dashboard`,
      {
        // Dashboard names are account-wide: each stack keeps its own.
        dashboardName: `${name}-${pulumi.getStack()}`,
        dashboardBody: pulumi.all(widgets).apply((all) => JSON.stringify({ widgets: all })),
      },
      parent,
    );

    this.alarmTopicArn = topic.arn;
    this.dashboardName = dashboard.dashboardName;
    this.alarmNames = alarms.map((a) => a.name);
    this.registerOutputs({ alarmTopicArn: this.alarmTopicArn, dashboardName: this.dashboardName });
  }
}
