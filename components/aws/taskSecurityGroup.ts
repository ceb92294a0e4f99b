import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";

export interface TaskSecurityGroupArgs {
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
  /** The one port the tasks listen on. */
  port: number;
  /** Security groups whose members may reach `port`; nothing else may. */
  sourceSecurityGroupIds?: pulumi.Input<string>[];
  tags?: Record<string, string>;
}

/**
 * The security group of one service's tasks: the port from the listed callers alone, and out to
 * the VPC and S3 (the internet only if asked).
 */
export class TaskSecurityGroup extends pulumi.ComponentResource {
  public readonly securityGroupId: pulumi.Output<string>;

  constructor(name: string, args: TaskSecurityGroupArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:aws:TaskSecurityGroup", name, {}, opts);
    const tags = args.tags ?? {};
    const parent = { parent: this };
    const securityGroup = new aws.ec2.SecurityGroup(
      `${name}-sg`,
      {
        vpcId: args.vpcId,
        description: `${name}: port ${args.port} from its callers only`,
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
          fromPort: args.port,
          toPort: args.port,
          description: `${name}: container port from an allowed caller`,
          tags,
        },
        parent,
      );
    });
    this.securityGroupId = securityGroup.id;
    this.registerOutputs({ securityGroupId: this.securityGroupId });
  }
}
