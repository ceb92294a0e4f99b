import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { accountAdministers } from "./keyPolicy.ts";

export interface ExecAuditArgs {
  /** Days to keep session transcripts. */
  logRetentionDays: number;
  tags?: Record<string, string>;
}

/**
 * Where ECS Exec sessions are recorded and the key that encrypts them: a KMS key for the
 * session channel and the transcript log group, and the log group itself. The cluster points
 * its `executeCommandConfiguration` here; the tasks that allow ECS Exec get `taskStatements`,
 * which their SSM agent needs to decrypt the session and write its transcript.
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html#ecs-exec-logging
 */
export class ExecAudit extends pulumi.ComponentResource {
  public readonly kmsKeyArn: pulumi.Output<string>;
  public readonly logGroupName: pulumi.Output<string>;
  /** For the task role of every task with ECS Exec. */
  public readonly taskStatements: pulumi.Output<Record<string, unknown>[]>;
  /**
   * The cluster setting: sessions encrypted with the key, their output logged to the group,
   * which CloudWatch encrypts with the same key.
   */
  public readonly clusterConfiguration: aws.types.input.ecs.ClusterConfiguration;

  constructor(name: string, args: ExecAuditArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:aws:ExecAudit", name, {}, opts);
    const tags = args.tags ?? {};
    const parent = { parent: this };
    const account = aws.getCallerIdentityOutput({}, parent).accountId;
    const partition = aws.getPartitionOutput({}, parent).partition;
    const region = aws.getRegionOutput({}, parent).region;
    const logGroupName = `/ecs/exec/${name}-${pulumi.getStack()}`;

    const key = new aws.kms.Key(
      `${name}-exec`,
      {
        description: `${name}: ECS Exec sessions and their transcripts`,
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        policy: pulumi.all([account, partition, region]).apply(([a, p, r]) =>
          JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              accountAdministers(a, p),
              {
                // CloudWatch Logs encrypts the transcripts of this log group only.
                // https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html
                Sid: "CloudWatchLogsEncryptsTranscripts",
                Effect: "Allow",
                Principal: { Service: `logs.${r}.amazonaws.com` },
                Action: [
                  "kms:Encrypt*",
                  "kms:Decrypt*",
                  "kms:ReEncrypt*",
                  "kms:GenerateDataKey*",
                  "kms:Describe*",
                ],
                Resource: "*",
                Condition: {
                  ArnEquals: {
                    "kms:EncryptionContext:aws:logs:arn": `arn:${p}:logs:${r}:${a}:log-group:${logGroupName}`,
                  },
                },
              },
            ],
          }),
        ),
        tags,
      },
      parent,
    );
    const logGroup = new aws.cloudwatch.LogGroup(
      `${name}-exec`,
      {
        name: logGroupName,
        retentionInDays: args.logRetentionDays,
        kmsKeyId: key.arn,
        tags,
      },
      parent,
    );

    this.kmsKeyArn = key.arn;
    this.logGroupName = logGroup.name;
    this.taskStatements = pulumi
      .all([key.arn, logGroup.arn])
      .apply(([keyArn, logArn]): Record<string, unknown>[] => [
        { Sid: "ExecSessionKey", Effect: "Allow", Action: "kms:Decrypt", Resource: keyArn },
        // The agent checks that the group exists and is encrypted; this call takes no resource.
        {
          Sid: "ExecFindLogGroup",
          Effect: "Allow",
          Action: "logs:DescribeLogGroups",
          Resource: "*",
        },
        {
          Sid: "ExecTranscript",
          Effect: "Allow",
          Action: ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
          Resource: `${logArn}:*`,
        },
      ]);
    this.clusterConfiguration = {
      executeCommandConfiguration: {
        kmsKeyId: key.arn,
        logging: "OVERRIDE",
        logConfiguration: {
          cloudWatchLogGroupName: logGroup.name,
          cloudWatchEncryptionEnabled: true,
        },
      },
    };
    this.registerOutputs({ kmsKeyArn: this.kmsKeyArn, logGroupName: this.logGroupName });
  }
}
