import type {
  PolicyResource,
  ReportViolation,
  ResourceValidationPolicy,
  StackValidationPolicy,
} from "@pulumi/policy";
import { list, obj, type Props } from "./props.ts";

// The platform's rules, as CrossGuard policies. They match resources by type token rather than
// by `@pulumi/aws` class so that the pack loads no provider SDK, and they read only inputs that
// are known at preview time (or follow `propertyDependencies` where a value is an output of
// another resource, such as a subnet id), so `pulumi preview --policy-pack policy` and the mock
// tests see the same verdicts.

const T = {
  rds: "aws:rds/instance:Instance",
  rdsParams: "aws:rds/parameterGroup:ParameterGroup",
  rdsSubnets: "aws:rds/subnetGroup:SubnetGroup",
  redis: "aws:elasticache/replicationGroup:ReplicationGroup",
  redisSubnets: "aws:elasticache/subnetGroup:SubnetGroup",
  msk: "aws:msk/cluster:Cluster",
  mskServerless: "aws:msk/serverlessCluster:ServerlessCluster",
  bucket: "aws:s3/bucket:Bucket",
  bucketSse:
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  subnet: "aws:ec2/subnet:Subnet",
  routeTable: "aws:ec2/routeTable:RouteTable",
  routeTableAssociation: "aws:ec2/routeTableAssociation:RouteTableAssociation",
  internetGateway: "aws:ec2/internetGateway:InternetGateway",
  securityGroup: "aws:ec2/securityGroup:SecurityGroup",
  securityGroupRule: "aws:ec2/securityGroupRule:SecurityGroupRule",
  ingressRule: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  loadBalancer: "aws:lb/loadBalancer:LoadBalancer",
  listener: "aws:lb/listener:Listener",
  ecsService: "aws:ecs/service:Service",
  scalingTarget: "aws:appautoscaling/target:Target",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  topic: "aws:sns/topic:Topic",
  kmsKey: "aws:kms/key:Key",
  bucketLogging: "aws:s3/bucketLogging:BucketLogging",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
} as const;

/** The resources a property of `r` refers to, of one type. */
function deps(r: PolicyResource, property: string, type: string): PolicyResource[] {
  return (r.propertyDependencies[property] ?? []).filter((d) => d.type === type);
}

// ---------------------------------------------------------------------------------------------
// Encryption at rest and in transit for every data store.

function checkEncryption(resources: PolicyResource[], report: ReportViolation): void {
  for (const r of resources) {
    const p = r.props;
    switch (r.type) {
      case T.rds: {
        if (p["storageEncrypted"] !== true) report("RDS storage must be encrypted", r.urn);
        // In transit: a parameter group of this stack that forces TLS.
        const params = deps(r, "parameterGroupName", T.rdsParams);
        const forced = params.some((g) =>
          list(g.props["parameters"]).some(
            (x) => obj(x)["name"] === "rds.force_ssl" && String(obj(x)["value"]) === "1",
          ),
        );
        if (!forced) report("RDS must use a parameter group that sets rds.force_ssl=1", r.urn);
        break;
      }
      case T.redis:
        if (p["atRestEncryptionEnabled"] !== true)
          report("ElastiCache must be encrypted at rest", r.urn);
        if (p["transitEncryptionEnabled"] !== true)
          report("ElastiCache must encrypt in transit (TLS)", r.urn);
        break;
      case T.msk: {
        const transit = obj(obj(p["encryptionInfo"])["encryptionInTransit"]);
        if ((transit["clientBroker"] ?? "TLS") !== "TLS")
          report("MSK client-broker traffic must be TLS only", r.urn);
        if (transit["inCluster"] === false) report("MSK in-cluster traffic must be TLS", r.urn);
        break;
      }
      case T.bucket: {
        const encrypted = resources.some(
          (c) =>
            c.type === T.bucketSse &&
            (c.propertyDependencies["bucket"] ?? []).some((b) => b.urn === r.urn),
        );
        if (!encrypted)
          report("S3 buckets need a server-side encryption configuration resource", r.urn);
        break;
      }
    }
  }
  // MSK Serverless and Secrets Manager encrypt at rest and in transit by construction.
}

export const dataEncryption: StackValidationPolicy = {
  name: "data-encryption",
  description:
    "Every data store (RDS, ElastiCache, MSK, S3) is encrypted at rest and in transit (TLS).",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => checkEncryption(args.resources, report),
};

// ---------------------------------------------------------------------------------------------
// Nothing in the data tier is public.

/** A subnet is public when it maps public IPs or its route table routes to an internet gateway. */
function isPublicSubnet(subnet: PolicyResource, resources: PolicyResource[]): boolean {
  if (subnet.props["mapPublicIpOnLaunch"] === true) return true;
  return resources.some(
    (a) =>
      a.type === T.routeTableAssociation &&
      (a.propertyDependencies["subnetId"] ?? []).some((s) => s.urn === subnet.urn) &&
      deps(a, "routeTableId", T.routeTable).some((rt) =>
        deps(rt, "routes", T.internetGateway).some(() => true),
      ),
  );
}

function dataSubnets(r: PolicyResource): PolicyResource[] {
  switch (r.type) {
    case T.rds:
      return deps(r, "dbSubnetGroupName", T.rdsSubnets).flatMap((g) =>
        deps(g, "subnetIds", T.subnet),
      );
    case T.redis:
      return deps(r, "subnetGroupName", T.redisSubnets).flatMap((g) =>
        deps(g, "subnetIds", T.subnet),
      );
    case T.msk:
      return deps(r, "brokerNodeGroupInfo", T.subnet);
    case T.mskServerless:
      return deps(r, "vpcConfigs", T.subnet);
    default:
      return [];
  }
}

export const dataTierPrivate: StackValidationPolicy = {
  name: "data-tier-private",
  description:
    "Databases, caches and brokers are never publicly accessible and live only in subnets with no route to the internet.",
  enforcementLevel: "mandatory",
  validateStack: ({ resources }, report) => {
    for (const r of resources) {
      if (r.type === T.rds && r.props["publiclyAccessible"] === true)
        report("RDS must not be publicly accessible", r.urn);
      if (r.type === T.msk) {
        const access = obj(
          obj(obj(r.props["brokerNodeGroupInfo"])["connectivityInfo"])["publicAccess"],
        );
        if ((access["type"] ?? "DISABLED") !== "DISABLED")
          report("MSK brokers must not have public access", r.urn);
      }
      const subnets = dataSubnets(r);
      if (
        [T.rds, T.redis, T.msk, T.mskServerless].includes(r.type as never) &&
        subnets.length === 0
      )
        report(`${r.type} must be placed in subnets of this stack`, r.urn);
      for (const subnet of subnets.filter((s) => isPublicSubnet(s, resources)))
        report(`${r.name} is placed in public subnet ${subnet.name}`, r.urn);
    }
  },
};

// ---------------------------------------------------------------------------------------------
// No security group open to the internet, except an internet-facing load balancer on 80/443.

const anywhere = new Set(["0.0.0.0/0", "::/0"]);

interface OpenRule {
  groupUrns: string[];
  fromPort: number;
  toPort: number;
  protocol: string;
}

function openRules(r: PolicyResource): OpenRule[] {
  const p = r.props;
  const rule = (groups: PolicyResource[], x: Props): OpenRule => ({
    groupUrns: groups.map((g) => g.urn),
    fromPort: Number(x["fromPort"] ?? 0),
    toPort: Number(x["toPort"] ?? 65535),
    protocol: String(x["ipProtocol"] ?? x["protocol"] ?? "-1"),
  });
  switch (r.type) {
    case T.securityGroup:
      return list(p["ingress"])
        .map(obj)
        .filter((x) =>
          [...list(x["cidrBlocks"]), ...list(x["ipv6CidrBlocks"])].some((c) =>
            anywhere.has(String(c)),
          ),
        )
        .map((x) => ({ ...rule([r], x), groupUrns: [r.urn] }));
    case T.ingressRule:
      return anywhere.has(String(p["cidrIpv4"])) || anywhere.has(String(p["cidrIpv6"]))
        ? [rule(deps(r, "securityGroupId", T.securityGroup), p)]
        : [];
    case T.securityGroupRule:
      return p["type"] === "ingress" &&
        [...list(p["cidrBlocks"]), ...list(p["ipv6CidrBlocks"])].some((c) =>
          anywhere.has(String(c)),
        )
        ? [rule(deps(r, "securityGroupId", T.securityGroup), p)]
        : [];
    default:
      return [];
  }
}

export const noInternetIngress: StackValidationPolicy = {
  name: "no-internet-ingress",
  description:
    "No security group admits 0.0.0.0/0 or ::/0, except an internet-facing load balancer's group on TCP 80 or 443.",
  enforcementLevel: "mandatory",
  validateStack: ({ resources }, report) => {
    const publicLbGroups = new Set(
      resources
        .filter((r) => r.type === T.loadBalancer && r.props["internal"] !== true)
        .flatMap((lb) => deps(lb, "securityGroups", T.securityGroup).map((g) => g.urn)),
    );
    for (const r of resources) {
      for (const open of openRules(r)) {
        const webPort =
          open.fromPort === open.toPort &&
          (open.fromPort === 80 || open.fromPort === 443) &&
          open.protocol === "tcp";
        const onLb =
          open.groupUrns.length > 0 && open.groupUrns.every((g) => publicLbGroups.has(g));
        if (!webPort || !onLb)
          report(
            `${r.name} opens ${open.protocol} ${open.fromPort}-${open.toPort} to the internet; only a public load balancer may, on 80/443`,
            r.urn,
          );
      }
    }
  },
};

// ---------------------------------------------------------------------------------------------
// Every service and tier: 2+ replicas over 2+ availability zones.

function zonesOf(subnets: PolicyResource[]): Set<string> {
  return new Set(subnets.map((s) => String(s.props["availabilityZone"] ?? s.name)));
}

export const spreadOverZones: StackValidationPolicy = {
  name: "spread-over-zones",
  description:
    "Every ECS service runs 2+ tasks (also as its autoscaling floor) over subnets in 2+ zones, and every load balancer spans 2+ zones.",
  enforcementLevel: "mandatory",
  validateStack: ({ resources }, report) => {
    for (const r of resources) {
      if (r.type === T.ecsService) {
        if (Number(r.props["desiredCount"] ?? 0) < 2)
          report(`${r.name} must run at least 2 tasks`, r.urn);
        const zones = zonesOf(deps(r, "networkConfiguration", T.subnet));
        if (zones.size < 2)
          report(`${r.name} must spread over 2+ zones (has ${zones.size})`, r.urn);
      }
      if (
        r.type === T.scalingTarget &&
        r.props["serviceNamespace"] === "ecs" &&
        Number(r.props["minCapacity"] ?? 0) < 2
      )
        report(`${r.name} lets autoscaling go below 2 tasks`, r.urn);
      if (r.type === T.loadBalancer) {
        const zones = zonesOf(deps(r, "subnets", T.subnet));
        if (zones.size < 2) report(`${r.name} must span 2+ zones (has ${zones.size})`, r.urn);
      }
    }
  },
};

// ---------------------------------------------------------------------------------------------
// Log retention.

export const logRetention: ResourceValidationPolicy = {
  name: "log-retention",
  description:
    "Every CloudWatch log group has a retention period (none keeps logs, and cost, forever).",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== T.logGroup) return;
    if (!(Number(args.props["retentionInDays"] ?? 0) > 0))
      report("set retentionInDays on the log group");
  },
};

// ---------------------------------------------------------------------------------------------
// Deployments and alarms that report what happened.

export const ecsWaitsForSteadyState: ResourceValidationPolicy = {
  name: "ecs-steady-state",
  description:
    "`up` waits for every ECS service to run healthy, so a crash-looping revision fails the update instead of being rolled back behind Pulumi's back.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== T.ecsService) return;
    if (args.props["waitForSteadyState"] !== true) report("set waitForSteadyState on the service");
  },
};

export const alarmTopicsReachable: StackValidationPolicy = {
  name: "alarm-topic-key",
  description:
    "SNS topics are encrypted with a customer-managed key: CloudWatch cannot publish alarms to a topic under an AWS-managed key (alias/aws/sns).",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    for (const r of args.resources.filter((t) => t.type === T.topic)) {
      // At preview the key's ARN is unknown: the topic then refers to a key of this stack.
      const ownKey = deps(r, "kmsMasterKeyId", T.kmsKey).length > 0;
      if (!ownKey)
        report(
          "encrypt the topic with a customer-managed KMS key whose policy admits CloudWatch",
          r.urn,
        );
    }
  },
};

export const bucketAccessLogging: StackValidationPolicy = {
  name: "s3-access-logging",
  description:
    "Every S3 bucket logs its requests (server access logging), unless it is itself where logs go (a load balancer's or a bucket's log target).",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const targets = (b: PolicyResource) =>
      args.resources.some(
        (r) =>
          (r.type === T.bucketLogging && deps(r, "targetBucket", T.bucket).includes(b)) ||
          (r.type === T.loadBalancer && deps(r, "accessLogs", T.bucket).includes(b)),
      );
    const logged = (b: PolicyResource) =>
      args.resources.some(
        (r) => r.type === T.bucketLogging && deps(r, "bucket", T.bucket).includes(b),
      );
    for (const b of args.resources.filter((r) => r.type === T.bucket))
      if (!logged(b) && !targets(b))
        report("log the bucket's requests (aws.s3.BucketLogging) to the stack's log bucket", b.urn);
  },
};

/** The actions of an IAM statement that read a secret's value. */
const readsSecrets = (action: unknown) =>
  [action]
    .flat()
    .some((a) => a === "*" || a === "secretsmanager:*" || a === "secretsmanager:GetSecretValue");

export const databaseCredentials: StackValidationPolicy = {
  name: "database-credentials",
  description:
    "Services sign in to PostgreSQL as roles of their own with IAM tokens: every RDS instance takes IAM authentication, and no ECS task role may read an RDS-managed master secret (RDS names them rds!...); only the database-roles function does.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    for (const db of args.resources.filter((r) => r.type === T.rds))
      if (db.props["iamDatabaseAuthenticationEnabled"] !== true)
        report("turn on IAM database authentication, so that services need no password", db.urn);
    for (const rp of args.resources.filter((r) => r.type === T.rolePolicy)) {
      const forTasks = deps(rp, "role", T.role).some((role) =>
        String(role.props["assumeRolePolicy"] ?? "").includes("ecs-tasks.amazonaws.com"),
      );
      // At preview a policy built from outputs is unknown: `up` and the mock graphs check it.
      if (!forTasks || typeof rp.props["policy"] !== "string") continue;
      const statements = list(obj(JSON.parse(rp.props["policy"]))["Statement"]).map(obj);
      const master = statements.some(
        (st) =>
          st["Effect"] === "Allow" &&
          readsSecrets(st["Action"]) &&
          [st["Resource"]]
            .flat()
            .some((res) => res === "*" || String(res).includes(":secret:rds!")),
      );
      if (master)
        report(
          "a task role must not read the database's master secret: sign in as the service's own role",
          rp.urn,
        );
    }
  },
};

// ---------------------------------------------------------------------------------------------
// Tags.

/** The tags every taggable resource carries, so that cost and ownership can be traced. */
export const requiredTags = ["project", "stack"] as const;

/**
 * AWS resource types the program uses whose inputs have no `tags`. Any other `aws:` type is
 * taggable; policy/rules.test.ts checks this list against the provider's own type definitions.
 */
export const untaggableTypes: ReadonlySet<string> = new Set([
  "aws:appautoscaling/policy:Policy",
  "aws:acm/certificateValidation:CertificateValidation",
  "aws:cloudwatch/dashboard:Dashboard",
  "aws:ec2/routeTableAssociation:RouteTableAssociation",
  "aws:ecr/lifecyclePolicy:LifecyclePolicy",
  "aws:iam/rolePolicy:RolePolicy",
  "aws:lambda/invocation:Invocation",
  "aws:lb/targetGroupAttachment:TargetGroupAttachment",
  "aws:route53/record:Record",
  "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
  "aws:s3/bucketLogging:BucketLogging",
  "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
  "aws:s3/bucketPolicy:BucketPolicy",
  "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  "aws:s3/bucketVersioning:BucketVersioning",
  "aws:secretsmanager/secretVersion:SecretVersion",
  "aws:sns/topicSubscription:TopicSubscription",
  "aws:wafv2/webAclAssociation:WebAclAssociation",
  "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration",
]);

export const tagsEverywhere: ResourceValidationPolicy = {
  name: "required-tags",
  description: `Every taggable AWS resource carries the ${requiredTags.join(" and ")} tags.`,
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (!args.type.startsWith("aws:") || untaggableTypes.has(args.type)) return;
    const tags = obj(args.props["tags"]);
    const missing = requiredTags.filter((t) => typeof tags[t] !== "string" || tags[t] === "");
    if (missing.length > 0) report(`missing tags: ${missing.join(", ")}`);
  },
};

// ---------------------------------------------------------------------------------------------
// Production only.

export interface ProductionConfig {
  /** Stacks (by their `stack` tag) held to the production rules. Default `["prod"]`. */
  productionStacks?: string[];
}

/** The stack a set of resources belongs to, read from their `stack` tag. */
function stackOf(resources: PolicyResource[]): string | undefined {
  for (const r of resources) {
    const stack = obj(r.props["tags"])["stack"];
    if (typeof stack === "string") return stack;
  }
  return undefined;
}

export const productionHardening: StackValidationPolicy = {
  name: "production-hardening",
  description:
    "On production stacks: multi-AZ RDS, deletion protection on databases and load balancers, and HTTPS (HTTP only redirects).",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      productionStacks: { type: "array", items: { type: "string" }, default: ["prod"] },
    },
  },
  validateStack: (args, report) => {
    const production = args.getConfig<ProductionConfig>().productionStacks ?? ["prod"];
    const stack = stackOf(args.resources);
    if (stack === undefined || !production.includes(stack)) return;
    const listeners = args.resources.filter((r) => r.type === T.listener);
    for (const r of args.resources) {
      if (r.type === T.rds) {
        if (r.props["multiAz"] !== true) report("production RDS must be multi-AZ", r.urn);
        if (r.props["deletionProtection"] !== true)
          report("production RDS must have deletion protection", r.urn);
      }
      if (r.type === T.loadBalancer) {
        if (r.props["enableDeletionProtection"] !== true)
          report("production load balancers must have deletion protection", r.urn);
        const own = listeners.filter((l) =>
          (l.propertyDependencies["loadBalancerArn"] ?? []).some((lb) => lb.urn === r.urn),
        );
        if (!own.some((l) => l.props["protocol"] === "HTTPS"))
          report("production load balancers must serve HTTPS", r.urn);
        for (const l of own.filter((l) => l.props["protocol"] !== "HTTPS")) {
          const redirects = list(l.props["defaultActions"])
            .map(obj)
            .every((a) => a["type"] === "redirect" && obj(a["redirect"])["protocol"] === "HTTPS");
          if (!redirects) report(`${l.name} must only redirect to HTTPS in production`, l.urn);
        }
      }
    }
  },
};

/** The whole pack, in the order violations are reported. */
export const policies = [
  dataEncryption,
  dataTierPrivate,
  noInternetIngress,
  spreadOverZones,
  logRetention,
  ecsWaitsForSteadyState,
  alarmTopicsReachable,
  bucketAccessLogging,
  databaseCredentials,
  tagsEverywhere,
  productionHardening,
];
