import type { Catalog } from "../../platform/catalog/index.ts";
import { domains, services } from "../../platform/catalog/index.ts";
import { workloadName } from "../../platform/names.ts";

// The AWS names the program derives from the catalog and the stack, and the rules AWS applies to
// each: a name that breaks one fails `pulumi up` halfway through the graph, and mocks apply no
// such rule. stacks/aws.ts checks them all before declaring anything (infra/aws/catalogRules.ts),
// and stacks/awsRules.test.ts checks every name in the planned graph against the same rules.

/**
 * Pulumi names a resource whose name is not set `<logical name>-<7 random hex digits>`: the
 * logical name has 8 characters less than the limit.
 */
export const AUTONAME_SUFFIX = "-0123abc";

export interface NameRule {
  /** What AWS calls the name, for messages. */
  what: string;
  /** The Pulumi input that holds the name (set by the program, or by Pulumi's autonaming). */
  property: string;
  max: number;
  pattern: RegExp;
  /** The pattern in words. */
  charset: string;
  /** Where AWS documents the rule. */
  doc: string;
}

const dnsLabel = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
// Letters, digits and single hyphens, starting with a letter and not ending with a hyphen.
const rdsIdentifier = /^[a-zA-Z](?:-?[a-zA-Z0-9])*$/;

/** The rules, by Pulumi type token, of every resource whose name the catalog or the stack shapes. */
export const nameRules: Record<string, NameRule> = {
  "aws:lb/loadBalancer:LoadBalancer": {
    what: "load balancer name",
    property: "name",
    max: 32,
    pattern: /^(?!internal-)[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/,
    charset: "letters, digits and hyphens, not starting or ending with a hyphen",
    doc: "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html",
  },
  "aws:lb/targetGroup:TargetGroup": {
    what: "target group name",
    property: "name",
    max: 32,
    pattern: /^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/,
    charset: "letters, digits and hyphens, not starting or ending with a hyphen",
    doc: "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html",
  },
  "aws:rds/instance:Instance": {
    what: "RDS instance identifier",
    property: "identifier",
    max: 63,
    pattern: rdsIdentifier,
    charset: "letters, digits and single hyphens, starting with a letter, not ending with a hyphen",
    doc: "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html",
  },
  "aws:elasticache/replicationGroup:ReplicationGroup": {
    what: "ElastiCache replication group id",
    property: "replicationGroupId",
    max: 40,
    pattern: rdsIdentifier,
    charset: "letters, digits and single hyphens, starting with a letter, not ending with a hyphen",
    doc: "https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html",
  },
  "aws:msk/cluster:Cluster": {
    what: "MSK cluster name",
    property: "clusterName",
    max: 64,
    pattern: /^[0-9A-Za-z][0-9A-Za-z-]*$/,
    charset: "letters, digits and hyphens, starting with a letter or digit",
    doc: "https://docs.aws.amazon.com/msk/1.0/apireference/clusters.html#clusters-prop-createclusterrequest-clustername",
  },
  "aws:iam/role:Role": {
    what: "IAM role name",
    property: "name",
    max: 64,
    pattern: /^[\w+=,.@-]+$/,
    charset: "letters, digits and +=,.@_-",
    doc: "https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html",
  },
  "aws:lambda/function:Function": {
    what: "Lambda function name",
    property: "name",
    max: 64,
    pattern: /^[a-zA-Z0-9_-]+$/,
    charset: "letters, digits, hyphens and underscores",
    doc: "https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html",
  },
  "aws:s3/bucket:Bucket": {
    what: "S3 bucket name",
    property: "bucket",
    max: 63,
    pattern: /^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$/,
    charset:
      "lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit",
    doc: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html",
  },
  "aws:servicediscovery/service:Service": {
    what: "Cloud Map service name (a DNS label)",
    property: "name",
    max: 63,
    pattern: dnsLabel,
    charset: "lower-case letters, digits and hyphens, not starting or ending with a hyphen",
    doc: "https://docs.aws.amazon.com/cloud-map/latest/api/API_CreateService.html",
  },
  "aws:cloudwatch/dashboard:Dashboard": {
    what: "CloudWatch dashboard name",
    property: "dashboardName",
    max: 255,
    pattern: /^[A-Za-z0-9_-]+$/,
    charset: "letters, digits, hyphens and underscores",
    doc: "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html",
  },
  "aws:ecs/taskDefinition:TaskDefinition": {
    what: "ECS task definition family",
    property: "family",
    max: 255,
    pattern: /^[A-Za-z0-9_-]+$/,
    charset: "letters, digits, hyphens and underscores",
    doc: "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html",
  },
};

/** A name AWS will see, the rule it must follow, and the catalog fields (or stack) it comes from. */
export interface DerivedName {
  type: keyof typeof nameRules;
  name: string;
  /** The fields that make it up, most specific first, e.g. `catalog.domains.identity`. */
  fields: string[];
}

/** Account-wide names that are not autonamed carry the stack, so two stacks never share one. */
export function stackScoped(name: string, stack: string): string {
  return `${name}-${stack}`;
}

/**
 * Every name of the AWS graph that the catalog or the stack shapes, as AWS will see it
 * (autonamed ones with a stand-in suffix), by the logical names stacks/aws.ts and the components
 * give: `${prefix}-gw-${domain}` for a tier, `${prefix}-${label}` for a service version...
 */
export function derivedNames(catalog: Catalog, stack: string): DerivedName[] {
  const p = catalog.name;
  const prefix = "catalog.name";
  const auto = (logical: string) => `${logical}${AUTONAME_SUFFIX}`;
  const names: DerivedName[] = [
    { type: "aws:lb/loadBalancer:LoadBalancer", name: auto(`${p}-alb`), fields: [prefix] },
    { type: "aws:s3/bucket:Bucket", name: auto(`${p}-alb-logs`), fields: [prefix] },
    { type: "aws:iam/role:Role", name: auto(`${p}-flow-logs`), fields: [prefix] },
    {
      type: "aws:cloudwatch/dashboard:Dashboard",
      name: stackScoped(p, stack),
      fields: [`the stack name "${stack}"`, prefix],
    },
  ];
  // A workload (tier or service version): its roles, its Cloud Map name, its task family.
  const workload = (group: string, label: string, fields: string[]) => {
    names.push(
      { type: "aws:iam/role:Role", name: auto(`${group}-exec`), fields },
      { type: "aws:iam/role:Role", name: auto(`${group}-task`), fields },
      { type: "aws:servicediscovery/service:Service", name: label, fields },
      {
        type: "aws:ecs/taskDefinition:TaskDefinition",
        name: stackScoped(group, stack),
        fields: [...fields, `the stack name "${stack}"`],
      },
    );
  };
  for (const d of domains(catalog)) {
    const fields = [`catalog.domains.${d.name}`, prefix];
    const tier = `${p}-gw-${d.name}`;
    names.push(
      { type: "aws:lb/targetGroup:TargetGroup", name: auto(`${tier}-tg`), fields },
      {
        type: "aws:rds/instance:Instance",
        name: stackScoped(`${p}-${d.name}-pg`, stack),
        fields: [...fields, `the stack name "${stack}"`],
      },
      {
        type: "aws:elasticache/replicationGroup:ReplicationGroup",
        name: auto(`${p}-${d.name}-redis`),
        fields,
      },
      { type: "aws:msk/cluster:Cluster", name: auto(`${p}-${d.name}-kafka`), fields },
    );
    workload(tier, workloadName.tier(d.name), fields);
    // The function that makes the services' database roles (components/aws/databaseRoles.ts).
    if (services(catalog).some((s) => s.domain === d.name && s.uses.includes("postgres")))
      names.push(
        { type: "aws:iam/role:Role", name: auto(`${p}-${d.name}-db-roles`), fields },
        { type: "aws:lambda/function:Function", name: auto(`${p}-${d.name}-db-roles`), fields },
      );
  }
  for (const s of services(catalog)) {
    const fields = [`catalog.services.${s.name}`, prefix];
    for (const v of s.versions) {
      const label = workloadName.service(s.name, v.name);
      workload(`${p}-${label}`, label, fields);
    }
    if (s.blobs)
      names.push({ type: "aws:s3/bucket:Bucket", name: auto(`${p}-${s.name}-blobs`), fields });
  }
  return names;
}

/** What is wrong with `name` under `rule`, or undefined. */
export function nameProblem(rule: NameRule, name: string): string | undefined {
  if (name.length > rule.max)
    return `${rule.what} "${name}" has ${name.length} characters, over AWS's ${rule.max}`;
  if (!rule.pattern.test(name)) return `${rule.what} "${name}" must be ${rule.charset}`;
  return undefined;
}

/** One problem per derived name that breaks its rule, naming the fields it comes from. */
export function nameProblems(catalog: Catalog, stack: string): string[] {
  const problems = derivedNames(catalog, stack).flatMap(({ type, name, fields }) => {
    const problem = nameProblem(nameRules[type]!, name);
    if (!problem) return [];
    const madeOf = fields.length > 1 ? ` (the name is made from ${fields.join(" and ")})` : "";
    return [`${fields[0]}: its ${problem}${madeOf}`];
  });
  return [...new Set(problems)];
}
