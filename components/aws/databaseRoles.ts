import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { lambdaPackage } from "../../infra/aws/lambdaPackage.ts";
import { rdsCaBundle } from "../../infra/aws/workloads.ts";
import { rolesLambdaEnv } from "../../services/shared/sql/rolesLambda.ts";

export interface DatabaseRolesArgs {
  /** One role per service, named after it (and after its schema). */
  services: string[];
  /** The RDS-managed master secret: this function is its only reader. */
  masterSecretArn: pulumi.Input<string>;
  address: pulumi.Input<string>;
  port: number;
  databaseName: string;
  /** Changes when the instance is replaced, which must bring the roles back. */
  instanceResourceId: pulumi.Input<string>;
  vpcId: pulumi.Input<string>;
  vpcCidrBlock: pulumi.Input<string>;
  subnetIds: pulumi.Input<string>[];
  /** The database's client group: the one its security group admits. */
  clientSecurityGroupId: pulumi.Input<string>;
  logRetentionDays: number;
  tags?: Record<string, string>;
}

/** Where the function's package puts RDS's CA bundle (fetched by the engine at deploy time). */
const CA_FILE = "rds-ca.pem";

/**
 * One PostgreSQL role per service on a domain's RDS instance (issue #14, B5), made by a Lambda
 * function inside the VPC (services/shared/sql/rolesLambda.ts) that `pulumi up` invokes whenever
 * the list of roles, the function's code or the instance changes. Only this function reads the
 * master secret; tasks sign in as their own role with IAM tokens (`rds-db:connect`, see
 * `connectStatement`). `ready` resolves once the roles exist: what a task needs from the
 * database should depend on it, so that no task starts before its role does.
 */
export class DatabaseRoles extends pulumi.ComponentResource {
  /** The roles' report of the last invocation (JSON: created, reowned), after they exist. */
  public readonly ready: pulumi.Output<string>;
  public readonly functionName: pulumi.Output<string>;
  public readonly services: readonly string[];

  constructor(name: string, args: DatabaseRolesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:aws:DatabaseRoles", name, {}, opts);
    const tags = args.tags ?? {};
    const parent = { parent: this };
    if (args.services.length === 0) throw new Error(`${name}: no service uses this database`);

    // Named by Pulumi like the function; the function writes here (loggingConfig), not to the
    // `/aws/lambda/<name>` group Lambda would make without retention.
    const logs = new aws.cloudwatch.LogGroup(
      `${name}-db-roles`,
      { retentionInDays: args.logRetentionDays, tags },
      parent,
    );
    const role = new aws.iam.Role(
      `${name}-db-roles`,
      {
        assumeRolePolicy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Principal: { Service: "lambda.amazonaws.com" },
              Action: "sts:AssumeRole",
            },
          ],
        }),
        tags,
      },
      parent,
    );
    new aws.iam.RolePolicy(
      `${name}-db-roles`,
      {
        role: role.id,
        policy: pulumi.all([args.masterSecretArn, logs.arn]).apply(([secret, logGroup]) =>
          JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              {
                Sid: "ReadMasterSecret",
                Effect: "Allow",
                Action: "secretsmanager:GetSecretValue",
                Resource: secret,
              },
              {
                Sid: "WriteOwnLogs",
                Effect: "Allow",
                Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
                Resource: `${logGroup}:*`,
              },
              {
                // A function in a VPC runs behind network interfaces Lambda makes in its name;
                // these actions take no resource (AWSLambdaVPCAccessExecutionRole).
                Sid: "NetworkInterfaces",
                Effect: "Allow",
                Action: [
                  "ec2:CreateNetworkInterface",
                  "ec2:DescribeNetworkInterfaces",
                  "ec2:DescribeSubnets",
                  "ec2:DeleteNetworkInterface",
                  "ec2:AssignPrivateIpAddresses",
                  "ec2:UnassignPrivateIpAddresses",
                ],
                Resource: "*",
              },
            ],
          }),
        ),
      },
      parent,
    );
    const group = new aws.ec2.SecurityGroup(
      `${name}-db-roles`,
      {
        vpcId: args.vpcId,
        description: `${name}: the database-roles function reaches PostgreSQL and the AWS endpoints`,
        egress: [
          {
            protocol: "tcp",
            fromPort: args.port,
            toPort: args.port,
            cidrBlocks: [args.vpcCidrBlock],
            description: "PostgreSQL",
          },
          {
            protocol: "tcp",
            fromPort: 443,
            toPort: 443,
            cidrBlocks: [args.vpcCidrBlock],
            description: "Secrets Manager through its interface endpoint",
          },
        ],
        tags: { ...tags, Name: `${name}-db-roles` },
      },
      parent,
    );
    const pack = lambdaPackage("services/shared/sql/rolesLambda.ts", "handler", {
      [CA_FILE]: new pulumi.asset.RemoteAsset(rdsCaBundle.url),
    });
    const fn = new aws.lambda.Function(
      `${name}-db-roles`,
      {
        description: `${name}: one PostgreSQL role per service`,
        runtime: aws.lambda.Runtime.NodeJS24dX,
        architectures: ["arm64"],
        code: pack.code,
        handler: pack.handler,
        role: role.arn,
        timeout: 60,
        memorySize: 256,
        vpcConfig: {
          subnetIds: args.subnetIds,
          securityGroupIds: [group.id, args.clientSecurityGroupId],
        },
        environment: {
          variables: {
            [rolesLambdaEnv.masterSecretArn]: args.masterSecretArn,
            [rolesLambdaEnv.host]: args.address,
            [rolesLambdaEnv.port]: String(args.port),
            [rolesLambdaEnv.database]: args.databaseName,
            [rolesLambdaEnv.caFile]: `/var/task/${CA_FILE}`,
            [rolesLambdaEnv.caSha256]: rdsCaBundle.sha256,
          },
        },
        loggingConfig: { logFormat: "Text", logGroup: logs.name },
        tags,
      },
      { parent: this, dependsOn: [logs] },
    );
    const invocation = new aws.lambda.Invocation(
      `${name}-db-roles`,
      {
        functionName: fn.name,
        input: JSON.stringify({ services: [...args.services].sort() }),
        triggers: {
          code: fn.sourceCodeHash,
          instance: args.instanceResourceId,
        },
      },
      parent,
    );
    this.services = args.services;
    this.ready = invocation.result;
    this.functionName = fn.name;
    this.registerOutputs({ functionName: this.functionName, ready: this.ready });
  }
}

/**
 * The statement that lets a task sign in to the database as `service`'s role, and as no other
 * (an IAM token for that user on that instance).
 * https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.IAMPolicy.html
 */
export function connectStatement(
  service: string,
  instanceResourceId: pulumi.Input<string>,
): pulumi.Output<Record<string, unknown>> {
  const partition = aws.getPartitionOutput().partition;
  const region = aws.getRegionOutput().region;
  const account = aws.getCallerIdentityOutput().accountId;
  return pulumi
    .all([partition, region, account, instanceResourceId])
    .apply(([p, r, a, id]): Record<string, unknown> => ({
      Sid: "ConnectAsOwnDatabaseRole",
      Effect: "Allow",
      Action: "rds-db:connect",
      Resource: `arn:${p}:rds-db:${r}:${a}:dbuser:${id}/${service}`,
    }));
}
