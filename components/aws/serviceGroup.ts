import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { nodeHttpProbe, probeTiming } from "../nodeHttpProbe.ts";

/** The one container of each task. */
const CONTAINER_NAME = "app";

/**
 * What the SSM agent of ECS Exec calls from inside a task: the Session Manager channels, which
 * IAM cannot scope to a resource.
 */
export const ecsExecStatement = {
  Sid: "EcsExec",
  Effect: "Allow",
  Action: [
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
  ],
  Resource: "*",
} as const;

/**
 * Where the ECS Exec agent writes inside the container. AWS documents ECS Exec as unsupported on
 * a read-only root filesystem because the agent cannot write; writable mounts at these paths are
 * the workaround reported to work (aws/containers-roadmap#1359, amazon-ecs-exec-checker#71),
 * which keeps the root filesystem read-only. Unverified here: no AWS account.
 */
export const ecsExecWritablePaths = [
  "/managed-agents",
  "/var/lib/amazon/ssm",
  "/var/log/amazon/ssm",
] as const;

/** A container environment variable read from Secrets Manager when the task starts. */
export interface SecretEnv {
  /** Environment variable name inside the container. */
  name: string;
  secretArn: pulumi.Input<string>;
  /** For JSON secrets (such as RDS-managed ones), the key to extract. Default: the whole value. */
  jsonKey?: string;
}

export interface ServiceGroupArgs {
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
  /** Container image, ideally pinned by digest. */
  image: pulumi.Input<string>;
  /** ECR repository the image comes from, so the execution role may pull only from it. */
  repositoryArn: pulumi.Input<string>;
  /** The container's command. */
  command: string[];
  containerPort: number;
  /** Task size: Fargate cpu units and memory in MiB. */
  cpu: number;
  memory: number;
  /** Number of tasks (at least 2 to survive the loss of one task or zone); the scaling floor. */
  replicas: number;
  /** Most tasks target tracking may run. Default 3 x `replicas`. */
  maxReplicas?: number;
  /** Average CPU (percent) that target tracking keeps the tasks at. Default 60. */
  targetCpuPercent?: number;
  /**
   * Seconds the process needs to drain on SIGTERM; ECS waits this long (plus a margin) before
   * SIGKILL. Default 10, the services' own drain window.
   */
  drainSeconds?: number;
  /** Plain environment; never a secret (use `secrets`). */
  environment: pulumi.Input<Record<string, pulumi.Input<string>>>;
  secrets?: SecretEnv[];
  /** Security groups whose members may reach `containerPort`; nothing else may. */
  sourceSecurityGroupIds?: pulumi.Input<string>[];
  /** Further groups the tasks join, e.g. the client groups that data stores admit. */
  memberOfSecurityGroupIds?: pulumi.Input<string>[];
  /** Target groups (ip type) to register the tasks with. */
  targetGroupArns?: pulumi.Input<string>[];
  /**
   * Writable directories on the read-only root filesystem, each a bind mount of the task's
   * ephemeral storage. Default `/tmp`. Fargate creates such a mount owned by root (mode 755)
   * unless the image declares the path as a `VOLUME`: then it copies the image's directory,
   * owner included, which is how a non-root user may write there (the Dockerfile declares them).
   */
  writablePaths?: string[];
  /** Extra IAM statements for the task role (what the application itself may call). */
  taskPolicyStatements?: pulumi.Input<pulumi.Input<Record<string, unknown>>[]>;
  /**
   * Lets operators run commands in the tasks (`aws ecs execute-command`, SSM port forwarding):
   * the service enables ECS Exec, the task role may open the SSM channels it needs, and the
   * agent gets writable mounts at `ecsExecWritablePaths` (the root filesystem stays read-only).
   * For operator workloads only; default false (docs/aws.md, "Operator access").
   */
  execCommand?: boolean;
  /**
   * With `execCommand`: what the SSM agent needs to decrypt sessions and write their transcript
   * (`ExecAudit.taskStatements`), which the cluster's ECS Exec configuration requires.
   */
  execAuditStatements?: pulumi.Input<Record<string, unknown>[]>;
  /** Days to keep container logs. Default 30. */
  logRetentionDays?: number;
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
  tags?: Record<string, string>;
}

/**
 * A Fargate service: N replicas of one container spread across the given private subnets,
 * registered in Cloud Map, with its own log group, least-privilege roles and a security group
 * that admits only the listed sources. Deployments roll back on failure, and CPU target tracking
 * scales between `replicas` and `maxReplicas`.
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
    const drainSeconds = args.drainSeconds ?? 10;
    const steadyStateTimeout = `${args.steadyStateTimeoutMinutes ?? 15}m`;
    const tags = args.tags ?? {};
    const parent = { parent: this };
    const secrets = args.secrets ?? [];
    const writable = [
      ...(args.writablePaths ?? ["/tmp"]),
      ...(args.execCommand ? ecsExecWritablePaths : []),
    ];
    const volumeName = (i: number) => `writable-${i}`;

    const logGroup = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      { retentionInDays: args.logRetentionDays ?? 30, tags },
      parent,
    );

    const assumeByEcsTasks = JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { Service: "ecs-tasks.amazonaws.com" },
          Action: "sts:AssumeRole",
        },
      ],
    });
    // The execution role is what ECS itself uses to start the task: pull this image, write this
    // log group, read these secrets. Nothing else, unlike the broad managed policy.
    const executionRole = new aws.iam.Role(
      `${name}-exec`,
      { assumeRolePolicy: assumeByEcsTasks, tags },
      parent,
    );
    const secretArns = secrets.map((s) => s.secretArn);
    new aws.iam.RolePolicy(
      `${name}-exec`,
      {
        role: executionRole.id,
        policy: pulumi
          .all([args.repositoryArn, logGroup.arn, pulumi.all(secretArns)])
          .apply(([repositoryArn, logGroupArn, arns]) =>
            JSON.stringify({
              Version: "2012-10-17",
              Statement: [
                // GetAuthorizationToken cannot be scoped to a repository.
                { Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
                {
                  Effect: "Allow",
                  Action: [
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchCheckLayerAvailability",
                  ],
                  Resource: repositoryArn,
                },
                {
                  Effect: "Allow",
                  Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
                  Resource: `${logGroupArn}:*`,
                },
                ...(arns.length > 0
                  ? [
                      {
                        Effect: "Allow",
                        Action: "secretsmanager:GetSecretValue",
                        Resource: [...new Set(arns)],
                      },
                    ]
                  : []),
              ],
            }),
          ),
      },
      parent,
    );

    // The task role is what the application may call; it starts empty.
    const taskRole = new aws.iam.Role(
      `${name}-task`,
      { assumeRolePolicy: assumeByEcsTasks, tags },
      parent,
    );
    if (args.taskPolicyStatements || args.execCommand) {
      const exec = args.execCommand
        ? pulumi
            .output(args.execAuditStatements ?? [])
            .apply((audit) => [ecsExecStatement, ...audit])
        : [];
      new aws.iam.RolePolicy(
        `${name}-task`,
        {
          role: taskRole.id,
          policy: pulumi
            .all([pulumi.output(args.taskPolicyStatements ?? []), exec])
            .apply(([statements, execStatements]) =>
              JSON.stringify({
                Version: "2012-10-17",
                Statement: [...statements, ...execStatements],
              }),
            ),
        },
        parent,
      );
    }

    const securityGroup = new aws.ec2.SecurityGroup(
      `${name}-sg`,
      {
        vpcId: args.vpcId,
        description: `${name}: port ${args.containerPort} from its callers only`,
        // The AWS APIs a task uses (ECR, logs, Secrets Manager, STS) answer at interface
        // endpoints inside the VPC and S3 at its gateway endpoint, so no task needs the internet
        // unless the catalog says so (`internet`).
        egress: [
          {
            protocol: "tcp",
            fromPort: 0,
            toPort: 65535,
            cidrBlocks: [args.vpcCidrBlock],
            description: "the VPC: services, data stores, AWS endpoints",
          },
          {
            protocol: "tcp",
            fromPort: 443,
            toPort: 443,
            prefixListIds: [args.s3PrefixListId],
            description: "S3 through its gateway endpoint",
          },
          ...(args.internetEgress
            ? [
                {
                  protocol: "tcp",
                  fromPort: 0,
                  toPort: 65535,
                  cidrBlocks: ["0.0.0.0/0"],
                  description: "the internet, through NAT (catalog: internet)",
                },
              ]
            : []),
        ],
        tags: { ...tags, Name: `${name}-sg` },
      },
      parent,
    );
    (args.sourceSecurityGroupIds ?? []).forEach((source, i) => {
      new aws.vpc.SecurityGroupIngressRule(
        `${name}-from-${i}`,
        {
          securityGroupId: securityGroup.id,
          referencedSecurityGroupId: source,
          ipProtocol: "tcp",
          fromPort: args.containerPort,
          toPort: args.containerPort,
          description: `${name}: container port from an allowed caller`,
          tags,
        },
        parent,
      );
    });

    const region = aws.getRegionOutput({}, parent).region;
    const containerDefinitions = pulumi
      .all([
        args.image,
        pulumi.output(args.environment),
        logGroup.name,
        region,
        pulumi.all(secretArns),
      ])
      .apply(([image, environment, logGroupName, regionName, arns]) =>
        JSON.stringify([
          {
            name: CONTAINER_NAME,
            image,
            essential: true,
            command: args.command,
            // The image's unprivileged `app` user (uid 10001, see the Dockerfile), never root.
            user: "10001:10001",
            readonlyRootFilesystem: true,
            portMappings: [{ containerPort: args.containerPort, protocol: "tcp" }],
            environment: Object.entries(environment)
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([key, value]) => ({ name: key, value })),
            secrets: secrets.map((s, i) => ({
              name: s.name,
              valueFrom: s.jsonKey ? `${arns[i]}:${s.jsonKey}::` : arns[i],
            })),
            healthCheck: {
              command: nodeHttpProbe(args.containerPort, "/healthz"),
              interval: probeTiming.intervalSeconds,
              timeout: probeTiming.timeoutSeconds,
              retries: probeTiming.retries,
              startPeriod: probeTiming.startPeriodSeconds,
            },
            mountPoints: writable.map((containerPath, i) => ({
              sourceVolume: volumeName(i),
              containerPath,
              readOnly: false,
            })),
            // Node is PID 1 in the image: an init forwards SIGTERM to it and reaps zombies.
            linuxParameters: { initProcessEnabled: true },
            // Leave time for the graceful shutdown (drain in-flight requests) before SIGKILL.
            stopTimeout: drainSeconds + 5,
            logConfiguration: {
              logDriver: "awslogs",
              options: {
                "awslogs-group": logGroupName,
                "awslogs-region": regionName,
                "awslogs-stream-prefix": args.discoveryName,
              },
            },
          },
        ]),
      );

    const taskDefinition = new aws.ecs.TaskDefinition(
      `${name}-task`,
      {
        // Families are account-wide: two stacks of one project must not add to each other's.
        family: `${name}-${pulumi.getStack()}`,
        cpu: String(args.cpu),
        memory: String(args.memory),
        networkMode: "awsvpc",
        requiresCompatibilities: ["FARGATE"],
        runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: "X86_64" },
        executionRoleArn: executionRole.arn,
        taskRoleArn: taskRole.arn,
        volumes: writable.map((_, i) => ({ name: volumeName(i) })),
        containerDefinitions,
        tags,
      },
      parent,
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
      parent,
    );

    const targetGroupArns = args.targetGroupArns ?? [];
    const taskSecurityGroupIds = [securityGroup.id, ...(args.memberOfSecurityGroupIds ?? [])];
    const service = new aws.ecs.Service(
      `${name}-service`,
      {
        cluster: args.clusterArn,
        taskDefinition: taskDefinition.arn,
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
          containerName: CONTAINER_NAME,
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

    const scaling = new aws.appautoscaling.Target(
      `${name}-scaling`,
      {
        serviceNamespace: "ecs",
        scalableDimension: "ecs:service:DesiredCount",
        resourceId: pulumi.interpolate`service/${args.clusterName}/${service.name}`,
        minCapacity: args.replicas,
        maxCapacity: maxReplicas,
        tags,
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

    this.securityGroupId = securityGroup.id;
    this.discoveryArn = discovery.arn;
    this.serviceName = service.name;
    this.taskRoleArn = taskRole.arn;
    this.logGroupName = logGroup.name;
    this.runTask = pulumi
      .all([taskDefinition.arn, pulumi.output(args.subnetIds), pulumi.output(taskSecurityGroupIds)])
      .apply(([taskDefinitionArn, subnetIds, securityGroupIds]) => ({
        taskDefinitionArn,
        containerName: CONTAINER_NAME,
        subnetIds,
        securityGroupIds,
      }));
    this.registerOutputs({ securityGroupId: this.securityGroupId, serviceName: this.serviceName });
  }
}
