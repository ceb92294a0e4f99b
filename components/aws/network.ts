import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";

export interface NetworkArgs {
  /** The VPC's address block; must be a /16 (each zone gets three /21 subnets). Default 10.0.0.0/16. */
  cidrBlock?: string;
  /** Availability zones to span, in order (at least 2). */
  availabilityZones: pulumi.Input<string>[];
  /** `perZone` (default) gives each zone its own NAT so a zone outage keeps egress elsewhere. */
  natGateways?: "single" | "perZone";
  /** Days to keep VPC flow logs. Default 30. */
  flowLogRetentionDays?: number;
  /**
   * AWS services the private subnets reach through interface endpoints instead of the NAT
   * (cheaper per GB, and they keep working when the NAT does not). Default
   * `defaultInterfaceEndpoints`. S3 always gets a free gateway endpoint (ECR layers live there).
   */
  interfaceEndpoints?: string[];
  tags?: Record<string, string>;
}

/** The subnets of one availability zone. */
export interface ZoneSubnets {
  availabilityZone: pulumi.Input<string>;
  /** Internet-facing: load balancers and NAT gateways. */
  publicSubnetId: pulumi.Output<string>;
  /** Services: egress through NAT, no inbound route from the internet. */
  privateSubnetId: pulumi.Output<string>;
  /** Data stores: no route out of the VPC at all. */
  isolatedSubnetId: pulumi.Output<string>;
}

/**
 * What Fargate tasks call: ECR (image manifests and layers), CloudWatch Logs (the awslogs
 * driver), Secrets Manager (task secrets), STS (MSK IAM authentication), KMS (the key of ECS
 * Exec sessions, `ExecAudit`) and SSM Messages (the
 * ECS Exec sessions operators open to the gateways and monitoring, which must not depend on the
 * NAT: an operator is most likely to need them when something is broken).
 */
export const defaultInterfaceEndpoints = [
  "ecr.api",
  "ecr.dkr",
  "kms",
  "logs",
  "secretsmanager",
  "sts",
  "ssmmessages",
];

/**
 * A VPC with public, private and isolated subnets in each zone, NAT egress for the private tier,
 * VPC endpoints for the AWS APIs tasks call, and flow logs. Subnet blocks are /21s carved from the /16 in a fixed order, so adding a zone
 * never renumbers existing subnets.
 */
export class Network extends pulumi.ComponentResource {
  public readonly vpcId: pulumi.Output<string>;
  public readonly vpcCidrBlock: pulumi.Output<string>;
  /** The managed prefix list of S3 in the region, which the S3 gateway endpoint routes. */
  public readonly s3PrefixListId: pulumi.Output<string>;
  public readonly zones: ZoneSubnets[];
  public readonly publicSubnetIds: pulumi.Output<string>[];
  public readonly privateSubnetIds: pulumi.Output<string>[];
  public readonly isolatedSubnetIds: pulumi.Output<string>[];

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:aws:Network", name, {}, opts);
    const zoneCount = args.availabilityZones.length;
    if (zoneCount < 2 || zoneCount > 6) {
      throw new Error(`${name}: a network spans 2 to 6 availability zones (got ${zoneCount})`);
    }
    const cidrBlock = args.cidrBlock ?? "10.0.0.0/16";
    // The subnets are carved as /21s from the first two octets: any other block would overlap
    // them or leave them outside the VPC.
    if (!isSixteen(cidrBlock))
      throw new Error(
        `${name}: cidrBlock must be an IPv4 /16 block such as 10.0.0.0/16 (got ${cidrBlock})`,
      );
    const perZoneNat = (args.natGateways ?? "perZone") === "perZone";
    const tags = args.tags ?? {};
    const parent = { parent: this };

    const vpc = new aws.ec2.Vpc(
      `${name}-vpc`,
      {
        cidrBlock,
        enableDnsHostnames: true,
        enableDnsSupport: true,
        tags: { ...tags, Name: `${name}-vpc` },
      },
      parent,
    );
    // /21 blocks (2,043 usable addresses): three per zone, so six zones still fit in the /16.
    const [a, b] = cidrBlock.split(".");
    const subnetCidr = (index: number) => `${a}.${b}.${index * 8}.0/21`;

    const igw = new aws.ec2.InternetGateway(
      `${name}-igw`,
      { vpcId: vpc.id, tags: { ...tags, Name: `${name}-igw` } },
      parent,
    );
    const publicRoutes = new aws.ec2.RouteTable(
      `${name}-public`,
      {
        vpcId: vpc.id,
        routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }],
        tags: { ...tags, Name: `${name}-public` },
      },
      parent,
    );
    // Isolated subnets share one table with only the implicit local route.
    const isolatedRoutes = new aws.ec2.RouteTable(
      `${name}-isolated`,
      { vpcId: vpc.id, tags: { ...tags, Name: `${name}-isolated` } },
      parent,
    );

    const nats: aws.ec2.NatGateway[] = [];
    const privateRouteTableIds: pulumi.Output<string>[] = [];
    this.zones = args.availabilityZones.map((az, i) => {
      const zone = `${name}-${i}`;
      const subnet = (tier: string, index: number, isPublic: boolean) =>
        new aws.ec2.Subnet(
          `${zone}-${tier}`,
          {
            vpcId: vpc.id,
            availabilityZone: az,
            cidrBlock: subnetCidr(index),
            mapPublicIpOnLaunch: false,
            tags: {
              ...tags,
              Name: `${zone}-${tier}`,
              tier,
              ...(isPublic ? { "kubernetes.io/role/elb": "1" } : {}),
            },
          },
          parent,
        );
      const pub = subnet("public", i, true);
      const priv = subnet("private", zoneCount + i, false);
      const iso = subnet("isolated", 2 * zoneCount + i, false);

      new aws.ec2.RouteTableAssociation(
        `${zone}-public`,
        { subnetId: pub.id, routeTableId: publicRoutes.id },
        parent,
      );
      new aws.ec2.RouteTableAssociation(
        `${zone}-isolated`,
        { subnetId: iso.id, routeTableId: isolatedRoutes.id },
        parent,
      );

      if (perZoneNat || i === 0) {
        const eip = new aws.ec2.Eip(
          `${zone}-nat`,
          { domain: "vpc", tags: { ...tags, Name: `${zone}-nat` } },
          parent,
        );
        nats.push(
          new aws.ec2.NatGateway(
            `${zone}-nat`,
            { allocationId: eip.id, subnetId: pub.id, tags: { ...tags, Name: `${zone}-nat` } },
            { parent: this, dependsOn: [igw] },
          ),
        );
      }
      const nat = nats[perZoneNat ? i : 0]!;
      const privateRoutes = new aws.ec2.RouteTable(
        `${zone}-private`,
        {
          vpcId: vpc.id,
          routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }],
          tags: { ...tags, Name: `${zone}-private` },
        },
        parent,
      );
      privateRouteTableIds.push(privateRoutes.id);
      new aws.ec2.RouteTableAssociation(
        `${zone}-private`,
        { subnetId: priv.id, routeTableId: privateRoutes.id },
        parent,
      );
      return {
        availabilityZone: az,
        publicSubnetId: pub.id,
        privateSubnetId: priv.id,
        isolatedSubnetId: iso.id,
      };
    });

    const region = aws.getRegionOutput({}, parent).region;
    const s3Endpoint = new aws.ec2.VpcEndpoint(
      `${name}-s3`,
      {
        vpcId: vpc.id,
        serviceName: pulumi.interpolate`com.amazonaws.${region}.s3`,
        vpcEndpointType: "Gateway",
        routeTableIds: privateRouteTableIds,
        tags: { ...tags, Name: `${name}-s3` },
      },
      parent,
    );
    const endpoints = args.interfaceEndpoints ?? defaultInterfaceEndpoints;
    if (endpoints.length > 0) {
      const endpointGroup = new aws.ec2.SecurityGroup(
        `${name}-endpoints`,
        {
          vpcId: vpc.id,
          description: `${name}: HTTPS to AWS APIs from inside the VPC`,
          tags: { ...tags, Name: `${name}-endpoints` },
        },
        parent,
      );
      new aws.vpc.SecurityGroupIngressRule(
        `${name}-endpoints-https`,
        {
          securityGroupId: endpointGroup.id,
          cidrIpv4: vpc.cidrBlock,
          ipProtocol: "tcp",
          fromPort: 443,
          toPort: 443,
          description: "HTTPS from the VPC",
          tags,
        },
        parent,
      );
      for (const service of endpoints) {
        const label = service.replace(/\./g, "-");
        new aws.ec2.VpcEndpoint(
          `${name}-${label}`,
          {
            vpcId: vpc.id,
            serviceName: pulumi.interpolate`com.amazonaws.${region}.${service}`,
            vpcEndpointType: "Interface",
            // The service's public name resolves to the endpoint, so SDKs need no setting.
            privateDnsEnabled: true,
            subnetIds: this.zones.map((z) => z.privateSubnetId),
            securityGroupIds: [endpointGroup.id],
            tags: { ...tags, Name: `${name}-${label}` },
          },
          parent,
        );
      }
    }

    const flowLogs = new aws.cloudwatch.LogGroup(
      `${name}-flow-logs`,
      { retentionInDays: args.flowLogRetentionDays ?? 30, tags },
      parent,
    );
    // Only flow logs of this account may assume the role (the confused-deputy guard).
    // https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html
    const account = aws.getCallerIdentityOutput({}, parent).accountId;
    const partition = aws.getPartitionOutput({}, parent).partition;
    const flowLogRole = new aws.iam.Role(
      `${name}-flow-logs`,
      {
        assumeRolePolicy: pulumi.all([account, partition, region]).apply(([a, p, r]) =>
          JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              {
                Effect: "Allow",
                Principal: { Service: "vpc-flow-logs.amazonaws.com" },
                Action: "sts:AssumeRole",
                Condition: {
                  StringEquals: { "aws:SourceAccount": a },
                  ArnLike: { "aws:SourceArn": `arn:${p}:ec2:${r}:${a}:vpc-flow-log/*` },
                },
              },
            ],
          }),
        ),
        tags,
      },
      parent,
    );
    new aws.iam.RolePolicy(
      `${name}-flow-logs`,
      {
        role: flowLogRole.id,
        policy: flowLogs.arn.apply((arn) =>
          JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              {
                Effect: "Allow",
                Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                Resource: [arn, `${arn}:*`],
              },
            ],
          }),
        ),
      },
      parent,
    );
    new aws.ec2.FlowLog(
      `${name}-flow-log`,
      {
        vpcId: vpc.id,
        trafficType: "ALL",
        logDestinationType: "cloud-watch-logs",
        logDestination: flowLogs.arn,
        iamRoleArn: flowLogRole.arn,
        maxAggregationInterval: 60,
        tags,
      },
      parent,
    );

    this.vpcId = vpc.id;
    this.vpcCidrBlock = vpc.cidrBlock;
    this.s3PrefixListId = s3Endpoint.prefixListId;
    this.publicSubnetIds = this.zones.map((z) => z.publicSubnetId);
    this.privateSubnetIds = this.zones.map((z) => z.privateSubnetId);
    this.isolatedSubnetIds = this.zones.map((z) => z.isolatedSubnetId);
    this.registerOutputs({
      vpcId: this.vpcId,
      s3PrefixListId: this.s3PrefixListId,
      publicSubnetIds: this.publicSubnetIds,
      privateSubnetIds: this.privateSubnetIds,
      isolatedSubnetIds: this.isolatedSubnetIds,
    });
  }
}

/** `a.b.0.0/16` with both octets 0-255: the only blocks the subnet layout fits. */
export function isSixteen(cidr: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.0\.0\/16$/.exec(cidr);
  return m !== null && Number(m[1]) <= 255 && Number(m[2]) <= 255;
}
