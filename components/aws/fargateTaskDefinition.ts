import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { nodeHttpProbe, probeTiming } from "../nodeHttpProbe.ts";

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

export interface FargateTaskDefinitionArgs {
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
  /** Plain environment; never a secret (use `secrets`). */
  environment: pulumi.Input<Record<string, pulumi.Input<string>>>;
  secrets?: SecretEnv[];
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
   * The task role may open the SSM channels of ECS Exec, and the agent gets writable mounts at
   * `ecsExecWritablePaths` (the root filesystem stays read-only). Default false.
   */
  execCommand?: boolean;
  /**
   * With `execCommand`: what the SSM agent needs to decrypt sessions and write their transcript
   * (`ExecAudit.taskStatements`), which the cluster's ECS Exec configuration requires.
   */
  execAuditStatements?: pulumi.Input<Record<string, unknown>[]>;
  /** Days to keep container logs. Default 30. */
  logRetentionDays?: number;
  /** The prefix of the container's log streams. */
  logStreamPrefix: string;
  /**
   * Seconds the process needs to drain on SIGTERM; ECS waits this long (plus a margin) before
   * SIGKILL. Default 10, the services' own drain window.
   */
  drainSeconds?: number;
  tags?: Record<string, string>;
}

/**
 * One container's Fargate task definition, as awsx's FargateTaskDefinition holds it: the
 * container (uid 10001, read-only root filesystem, health check, init process), its log group,
 * and least-privilege roles: the execution role that ECS uses to start it, and the task role the
 * application calls AWS with, which starts empty.
 */
export class FargateTaskDefinition extends pulumi.ComponentResource {
  /** The one container of each task. */
  public static readonly containerName = "app";
  public readonly taskDefinitionArn: pulumi.Output<string>;
  public readonly taskRoleArn: pulumi.Output<string>;
  public readonly logGroupName: pulumi.Output<string>;

  constructor(
    name: string,
    args: FargateTaskDefinitionArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("platform:aws:FargateTaskDefinition", name, {}, opts);
    const drainSeconds = args.drainSeconds ?? 10;
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
            name: FargateTaskDefinition.containerName,
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
                "awslogs-stream-prefix": args.logStreamPrefix,
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

    this.taskDefinitionArn = taskDefinition.arn;
    this.taskRoleArn = taskRole.arn;
    this.logGroupName = logGroup.name;
    this.registerOutputs({
      taskDefinitionArn: this.taskDefinitionArn,
      taskRoleArn: this.taskRoleArn,
      logGroupName: this.logGroupName,
    });
  }
}
