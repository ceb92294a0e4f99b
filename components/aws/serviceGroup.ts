import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { FargateTaskDefinitionArgs } from "./fargateTaskDefinition.ts";
import { FargateTaskDefinition } from "./fargateTaskDefinition.ts";
import { movedFrom } from "./moved.ts";
import { ServiceAutoscaling, type ServiceAutoscalingArgs } from "./serviceAutoscaling.ts";
import { TaskSecurityGroup } from "./taskSecurityGroup.ts";

export interface ServiceGroupArgs extends Omit<FargateTaskDefinitionArgs, "logStreamPrefix"> {
  /** ECS cluster the service runs in. */
  clusterArn: pulumi.Input<string>;
  /** The same cluster's name, which Application Auto Scaling addresses services by. */
  clusterName: pulumi.Input<string>;
  vpcId: pulumi.Input<string>;
  /** The VPC's block: tasks may reach anything in it (services, data stores, AWS endpoints). */
  vpcCidrBlock: pulumi.Input<string>;
  /** S3's prefix list (the gateway endpoint's): image layers and blobs come from S3. */
  s3PrefixListId: pulumi.Input<string>;
  /**
   * The tasks may send to the internet (through the NAT gateways). Default false: only the VPC
   * and S3, so a compromised task cannot send data out.
   */
  internetEgress?: boolean;
  /** One private subnet per availability zone; tasks are spread across all of them. */
  subnetIds: pulumi.Input<string>[];
  /** Cloud Map private DNS namespace that registers the tasks as `<discoveryName>.<namespace>`. */
  namespaceId: pulumi.Input<string>;
  /** DNS label under the namespace. */
  discoveryName: string;
  /** Number of tasks (at least 2 to survive the loss of one task or zone); the scaling floor. */
  replicas: number;
  /** Most tasks target tracking may run. Default 3 x `replicas`. */
  maxReplicas?: number;
  /** Average CPU (percent) that target tracking keeps the tasks at. Default 60. */
  targetCpuPercent?: number;
  /** Also scale on a queue the service reports to CloudWatch (ServiceAutoscaling `queue`). */
  queueScaling?: ServiceAutoscalingArgs["queue"];
  /** Security groups whose members may reach `containerPort`; nothing else may. */
  sourceSecurityGroupIds?: pulumi.Input<string>[];
  /** Further groups the tasks join, e.g. the client groups that data stores admit. */
  memberOfSecurityGroupIds?: pulumi.Input<string>[];
  /** Target groups (ip type) to register the tasks with. */
  targetGroupArns?: pulumi.Input<string>[];
  /**
   * Minutes `pulumi up` waits for the service to reach a steady state (every task running and
   * healthy) before it fails the update. Default 15.
   */
  steadyStateTimeoutMinutes?: number;
  /** Seconds the load balancer grants a new task before health checks count. Default 30. */
  healthCheckGracePeriodSeconds?: number;
  /**
   * Resources the ECS service must wait for, e.g. the listener rules that attach its target
   * groups to a load balancer (ECS refuses a target group that no load balancer uses yet).
   */
  serviceDependsOn?: pulumi.Input<pulumi.Input<pulumi.Resource>[]>;
}

/**
 * A Fargate service: N replicas of one container (FargateTaskDefinition: its log group and
 * least-privilege roles) spread across the given private subnets, registered in Cloud Map, in a
 * TaskSecurityGroup that admits only the listed sources. Deployments roll back on failure, and
 * ServiceAutoscaling tracks CPU between `replicas` and `maxReplicas`.
 */
export class ServiceGroup extends pulumi.ComponentResource {
  public readonly securityGroupId: pulumi.Output<string>;
  /** Cloud Map service ARN: every healthy task, registered as it starts. */
  public readonly discoveryArn: pulumi.Output<string>;
  public readonly serviceName: pulumi.Output<string>;
  public readonly taskRoleArn: pulumi.Output<string>;
  public readonly logGroupName: pulumi.Output<string>;
  /**
   * What a one-off task of this group's definition needs (`aws ecs run-task`), e.g. an admin
   * command: the task definition and the network the service's own tasks run in.
   */
  public readonly runTask: pulumi.Output<{
    taskDefinitionArn: string;
    containerName: string;
    subnetIds: string[];
    securityGroupIds: string[];
  }>;

  constructor(name: string, args: ServiceGroupArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:aws:ServiceGroup", name, {}, opts);
    if (args.replicas < 1) throw new Error(`${name}: replicas must be at least 1`);
    if (args.subnetIds.length === 0) throw new Error(`${name}: needs at least one subnet`);
    const maxReplicas = args.maxReplicas ?? 3 * args.replicas;
    if (maxReplicas < args.replicas)
      throw new Error(`${name}: maxReplicas (${maxReplicas}) is below replicas (${args.replicas})`);
    // Cloud Map's MULTIVALUE answer holds at most 8 instances: callers would see a random 8.
    // https://docs.aws.amazon.com/cloud-map/latest/api/API_DnsConfig.html
    if (maxReplicas > 8)
      throw new Error(
        `${name}: maxReplicas (${maxReplicas}) is above the 8 tasks Cloud Map answers`,
      );
    const steadyStateTimeout = `${args.steadyStateTimeoutMinutes ?? 15}m`;
    const tags = args.tags ?? {};

    // The task definition, the security group and the autoscaling were this component's own
    // resources before they were components of their own: each keeps its state by an alias.
    const task = new FargateTaskDefinition(
      name,
      {
        image: args.image,
        repositoryArn: args.repositoryArn,
        command: args.command,
        containerPort: args.containerPort,
        cpu: args.cpu,
        memory: args.memory,
        environment: args.environment,
        secrets: args.secrets,
        writablePaths: args.writablePaths,
        taskPolicyStatements: args.taskPolicyStatements,
        execCommand: args.execCommand,
        execAuditStatements: args.execAuditStatements,
        logRetentionDays: args.logRetentionDays,
        logStreamPrefix: args.discoveryName,
        drainSeconds: args.drainSeconds,
        tags,
      },
      movedFrom(this),
    );
    const securityGroup = new TaskSecurityGroup(
      name,
      {
        vpcId: args.vpcId,
        vpcCidrBlock: args.vpcCidrBlock,
        s3PrefixListId: args.s3PrefixListId,
        internetEgress: args.internetEgress,
        port: args.containerPort,
        sourceSecurityGroupIds: args.sourceSecurityGroupIds,
        tags,
      },
      movedFrom(this),
    );

    const discovery = new aws.servicediscovery.Service(
      `${name}-discovery`,
      {
        name: args.discoveryName,
        dnsConfig: {
          namespaceId: args.namespaceId,
          dnsRecords: [{ type: "A", ttl: 10 }],
          // Every healthy task's address, so callers spread load and fail over between them.
          routingPolicy: "MULTIVALUE",
        },
        // ECS reports each task's health; `failureThreshold` is deprecated (always 1).
        // https://docs.aws.amazon.com/cloud-map/latest/api/API_HealthCheckCustomConfig.html
        healthCheckCustomConfig: {},
        // Cloud Map refuses to delete a service that still has instances, and ECS may not have
        // deregistered every task when destroy gets here:
        // https://docs.aws.amazon.com/cloud-map/latest/api/API_DeleteService.html
        forceDestroy: true,
        tags,
      },
      { parent: this },
    );

    const targetGroupArns = args.targetGroupArns ?? [];
    const taskSecurityGroupIds = [
      securityGroup.securityGroupId,
      ...(args.memberOfSecurityGroupIds ?? []),
    ];
    const service = new aws.ecs.Service(
      `${name}-service`,
      {
        cluster: args.clusterArn,
        taskDefinition: task.taskDefinitionArn,
        launchType: "FARGATE",
        desiredCount: args.replicas,
        // Rolling deploys never drop below full strength.
        deploymentMinimumHealthyPercent: 100,
        deploymentMaximumPercent: 200,
        deploymentCircuitBreaker: { enable: true, rollback: true },
        // Without it `up` reports success as soon as ECS accepts the deployment, and the circuit
        // breaker then rolls a crash-looping revision back behind Pulumi's back: the stack would
        // record a task definition that does not run.
        waitForSteadyState: true,
        availabilityZoneRebalancing: "ENABLED",
        ...(args.execCommand ? { enableExecuteCommand: true } : {}),
        networkConfiguration: {
          subnets: args.subnetIds,
          securityGroups: taskSecurityGroupIds,
          assignPublicIp: false,
        },
        serviceRegistries: { registryArn: discovery.arn },
        loadBalancers: targetGroupArns.map((targetGroupArn) => ({
          targetGroupArn,
          containerName: FargateTaskDefinition.containerName,
          containerPort: args.containerPort,
        })),
        healthCheckGracePeriodSeconds:
          targetGroupArns.length > 0 ? (args.healthCheckGracePeriodSeconds ?? 30) : undefined,
        propagateTags: "SERVICE",
        tags,
      },
      {
        parent: this,
        dependsOn: args.serviceDependsOn,
        // Target tracking owns the running count between the floor and the ceiling below.
        ignoreChanges: ["desiredCount"],
        customTimeouts: { create: steadyStateTimeout, update: steadyStateTimeout },
      },
    );

    new ServiceAutoscaling(
      name,
      {
        clusterName: args.clusterName,
        serviceName: service.name,
        minTasks: args.replicas,
        maxTasks: maxReplicas,
        targetCpuPercent: args.targetCpuPercent,
        queue: args.queueScaling,
        tags,
      },
      movedFrom(this),
    );

    this.securityGroupId = securityGroup.securityGroupId;
    this.discoveryArn = discovery.arn;
    this.serviceName = service.name;
    this.taskRoleArn = task.taskRoleArn;
    this.logGroupName = task.logGroupName;
    this.runTask = pulumi
      .all([
        task.taskDefinitionArn,
        pulumi.output(args.subnetIds),
        pulumi.output(taskSecurityGroupIds),
      ])
      .apply(([taskDefinitionArn, subnetIds, securityGroupIds]) => ({
        taskDefinitionArn,
        containerName: FargateTaskDefinition.containerName,
        subnetIds,
        securityGroupIds,
      }));
    this.registerOutputs({ securityGroupId: this.securityGroupId, serviceName: this.serviceName });
  }
}
