import type { Catalog, StoreKind } from "../../platform/catalog/index.ts";
import {
  domains,
  edgeLimits,
  gatewayStores,
  keyService,
  routingRules,
  services,
} from "../../platform/catalog/index.ts";
import { reachability, type Workload } from "../../platform/catalog/reachability.ts";
import { nameOf, workloadName } from "../../platform/names.ts";
import type { BlobEndpoint, DataAccess, Env } from "../../platform/runtimeEnv.ts";
import {
  IMAGE_DATA_DIR,
  envKey,
  entrypoint,
  imageVariant,
  type ImageVariant,
  gatewayEnv,
  serviceEnv,
} from "../../platform/runtimeEnv.ts";
import { dlqTopics } from "../../services/gateway/dlqTopics.ts";
import type { StackSettings } from "../stackConfig.ts";
import { checkAwsCatalog } from "./catalogRules.ts";
import {
  cloudMapAddresses,
  databasePool,
  drainSeconds,
  ingressRuleOf,
  nodeBaseImage,
  primaryVersion,
  rdsCaBundle,
} from "./workloads.ts";

// The AWS target as plain data: every workload with its size, environment, secrets and who it
// admits, the ALB's targets and routes, each domain's stores and pool, computed from the catalog
// and the stack's settings alone. stacks/aws.ts turns it into resources and fills in what only
// exists once they do (endpoints, ARNs); infra/aws/plan.test.ts checks it without Pulumi.

/** An environment value that exists only once a resource does; stacks/aws.ts resolves it. */
export type DeployValue =
  | { from: "databaseUrl"; domain: string; service: string }
  | { from: "redisUrl"; domain: string }
  | { from: "kafkaBrokers"; domain: string }
  | { from: "blobBucket"; service: string }
  | { from: "blobKmsKey"; service: string }
  | { from: "region" };

/** A secret a task receives from Secrets Manager, by what it is (the stack holds the ARNs). */
export type AwsSecret = "redisPassword" | "adminToken" | "principalSecret";

export interface AwsWorkloadPlan {
  /** The component's Pulumi name, e.g. `platform-gw-identity`, `platform-orders-v2`. */
  name: string;
  /** Its Cloud Map name (platform/names.ts), which monitoring and alarms show. */
  label: string;
  /** The reachability statement's workload it realises. */
  workload: Workload;
  domain: string;
  /** The program the container runs (node's argument). */
  program: string;
  /** The image variant it runs (`media` for a catalog service with `media: true`). */
  image: ImageVariant;
  /** The git ref its image is built from (catalog `source`); unset: the checkout. */
  source?: string;
  replicas: number;
  maxReplicas: number;
  cpu: number;
  memory: number;
  /** Every value known before deploy; `deployEnv` holds the others. */
  env: Env;
  deployEnv: Record<string, DeployValue>;
  /** In the order the task definition lists them. */
  secrets: AwsSecret[];
  /** A queue whose depth the service reports, which its task count also tracks. */
  queueScaling?: {
    namespace: string;
    metricName: string;
    dimensions: Record<string, string>;
    perTask: number;
  };
  /** The stores of its domain it is a client of: their security groups and IAM statements. */
  stores: StoreKind[];
  /** It keeps blobs in a bucket of its own, which only its tasks may use. */
  blobs: boolean;
  /** It may write the first admin key (the api-keys service). */
  writesAdminBootstrap: boolean;
  /** Operators may run commands in it (ECS Exec): the tiers and monitoring. */
  execCommand: boolean;
  internetEgress: boolean;
  /** Who its own security group admits: the ALB (a tier) or its domain's tier (a service). */
  admits: { alb: true } | { tier: string };
}

/** One security-group rule between two workloads, beyond those the components hold. */
export interface AwsIngressPlan {
  name: string;
  description: string;
  /** `name` of the workloads. */
  from: string;
  to: string;
}

export interface AwsDomainPlan {
  domain: string;
  /** The DomainData component's Pulumi name. */
  name: string;
  /** Connections each PostgreSQL client pools, and the instance's limit they must fit. */
  poolMax: number;
  maxConnections: number;
  /** Why the clients do not fit, for `pulumi up` to report; undefined when they do. */
  poolWarning?: string;
  storageGb: number;
  deadLetters: { topic: string; consumerGroup: string };
}

export interface AwsNetworkPlan {
  cidrBlock: string;
  /** How many zones, and which zone IDs where the stack names them. */
  zones: number;
  zoneIds?: string[];
  natGateways: StackSettings["natGateways"];
  flowLogRetentionDays: number;
}

/** What every ECS task of the stack shares. */
export interface AwsTaskPlan {
  logRetentionDays: number;
  drainSeconds: number;
  steadyStateTimeoutMinutes: number;
  /** Writable directories on the read-only root filesystem. */
  writablePaths: string[];
}

export interface AwsAlbPlan {
  /** One target group per gateway tier, keyed by domain. */
  targets: { domain: string; name: string; drainSeconds: number; formerParent: string }[];
  routes: { prefix: string; target: string }[];
  defaultTarget: string;
  limits: { maxBodyBytes: number; longestSilenceMs: number };
  /** HTTPS with this certificate, or one issued for `domain` in its hosted zone. */
  certificateArn?: string;
  domain?: { name: string; hostedZoneId: string };
  deletionProtection: boolean;
  waf?: { rateLimit: number };
  accessLogRetentionDays: number;
}

export interface AwsPlan {
  prefix: string;
  port: number;
  tags: Record<string, string>;
  namespace: string;
  network: AwsNetworkPlan;
  imageBuildArgs: Record<string, string>;
  tasks: AwsTaskPlan;
  domains: AwsDomainPlan[];
  alb: AwsAlbPlan;
  /** The tiers (by domain order), then every version of every service. */
  workloads: AwsWorkloadPlan[];
  /** A bucket per service that keeps blobs (catalog `blobs`), shared by its versions. */
  blobBuckets: { service: string; name: string }[];
  ingress: AwsIngressPlan[];
  /** The workload whose task definition runs the admin bootstrap (auth's primary version). */
  adminBootstrapWorkload: string;
  /** Internal endpoints the stack outputs, by key. */
  internalEndpoints: Record<string, string>;
}

/** The admin bootstrap command (services/auth/createAdminKey.ts), as the image's node runs it. */
const ADMIN_KEY_PROGRAM = "services/auth/createAdminKey.ts";

/** The AWS target's topology for `stack`, from the catalog and the stack's settings. */
export function planAws(catalog: Catalog, settings: StackSettings, stack: string): AwsPlan {
  checkAwsCatalog(catalog, settings, stack);
  if (settings.availabilityZones && settings.availabilityZones.length < catalog.zones)
    throw new Error(
      `platform:availabilityZones lists ${settings.availabilityZones.length} zones but catalog.zones is ${catalog.zones}`,
    );
  const prefix = catalog.name;
  const port = catalog.containerPort;
  const namespace = `${prefix}.internal`;
  const addresses = cloudMapAddresses(catalog, namespace);
  const allDomains = domains(catalog);
  const deploy = deployValues();

  const pools = new Map(
    allDomains.map((d) => [d.name, databasePool(catalog, d.name, settings.maxScaleFactor)]),
  );
  /** What a client of `stores` of `domain` is told, with the endpoints left to the stack. */
  const dataAccess = (
    domain: string,
    stores: ReadonlySet<StoreKind>,
    service?: string,
  ): DataAccess => {
    const postgres = stores.has("postgres") && service !== undefined;
    const kafka = stores.has("kafka");
    return {
      databaseUrl: postgres ? deploy.mark({ from: "databaseUrl", domain, service }) : undefined,
      redisUrl: stores.has("redis") ? deploy.mark({ from: "redisUrl", domain }) : undefined,
      kafkaBrokers: kafka ? deploy.mark({ from: "kafkaBrokers", domain }) : undefined,
      // MSK takes only IAM-signed TLS clients (DomainData), so the clients must sign in.
      kafkaAuth: kafka ? "aws-iam" : undefined,
      databaseCaFile: postgres ? rdsCaBundle.file : undefined,
      databaseAuth: postgres ? "aws-iam" : undefined,
      databasePoolMax: postgres ? pools.get(domain)!.poolMax : undefined,
    };
  };
  const sized = (replicas: number) => ({
    replicas,
    maxReplicas: replicas * settings.maxScaleFactor,
  });
  const tierName = (domain: string) => `${prefix}-gw-${domain}`;

  const tiers: AwsWorkloadPlan[] = allDomains.map((d) => ({
    name: tierName(d.name),
    label: workloadName.tier(d.name),
    workload: { kind: "tier", domain: d.name },
    domain: d.name,
    program: entrypoint("gateway"),
    image: "services",
    ...sized(d.gateway.replicas),
    cpu: d.gateway.cpu,
    memory: d.gateway.memory,
    ...deploy.split(
      gatewayEnv(catalog, d.name, addresses, port, "aws", dataAccess(d.name, gatewayStores)),
    ),
    secrets: [...storeSecrets(gatewayStores), "adminToken", "principalSecret"],
    stores: [...gatewayStores],
    blobs: false,
    writesAdminBootstrap: false,
    execCommand: true,
    internetEgress: false,
    admits: { alb: true },
  }));

  const versions: AwsWorkloadPlan[] = services(catalog).flatMap((s) => {
    const uses = new Set(s.uses);
    const blobs: BlobEndpoint | undefined = s.blobs
      ? {
          bucket: deploy.mark({ from: "blobBucket", service: s.name }),
          kmsKeyId: deploy.mark({ from: "blobKmsKey", service: s.name }),
          region: deploy.mark({ from: "region" }),
        }
      : undefined;
    const operated = s.role === "monitoring";
    // The depth reaches CloudWatch in the service's log lines, in the stack's own namespace.
    const queue = s.queueScaling && {
      namespace: `Platform/${prefix}`,
      metricName: s.queueScaling.metric,
      dimensions: { Service: s.name },
      perTask: s.queueScaling.perReplica,
    };
    return s.versions.map((v): AwsWorkloadPlan => {
      const label = workloadName.service(s.name, v.name);
      return {
        name: `${prefix}-${label}`,
        label,
        workload: { kind: "service", service: s.name, version: v.name },
        domain: s.domain,
        program: entrypoint(s.name),
        image: imageVariant(s),
        ...(v.source ? { source: v.source.ref } : {}),
        ...sized(s.replicas),
        cpu: s.cpu,
        memory: s.memory,
        ...withQueueNamespace(
          deploy.split(
            serviceEnv(
              catalog,
              s.name,
              port,
              dataAccess(s.domain, uses, s.name),
              v.name,
              addresses,
              blobs,
            ),
          ),
          queue,
        ),
        queueScaling: queue,
        secrets: [
          ...storeSecrets(uses),
          "principalSecret",
          ...(operated ? ["adminToken" as const] : []),
        ],
        stores: (["postgres", "redis", "kafka"] as const).filter((k) => uses.has(k)),
        blobs: s.blobs,
        writesAdminBootstrap: s.role === "api-keys",
        execCommand: operated,
        internetEgress: s.internet,
        admits: { tier: tierName(s.domain) },
      };
    });
  });
  const workloads = [...tiers, ...versions];

  // Who may connect to whom (platform/catalog/reachability.ts): one ingress rule per connection
  // between tiers and services. The ALB (the router here) to the tiers, and each tier to its
  // services, are the components' own rules (`admits`); the ALB has no task for monitoring to
  // scrape.
  const componentOf = (w: Workload) =>
    w.kind === "tier" ? tierName(w.domain) : `${prefix}-${nameOf(w)}`;
  const ruleLabel = (w: Workload) => (w.kind === "tier" ? `gw-${w.domain}` : nameOf(w));
  const ingress = reachability(catalog)
    .filter(
      (e) => e.from.kind !== "router" && e.to.kind !== "router" && !e.reasons.includes("proxies"),
    )
    .map((edge) => {
      const rule = ingressRuleOf(catalog, edge, ruleLabel(edge.from), ruleLabel(edge.to));
      return {
        name: `${prefix}-${rule.name}`,
        description: rule.description,
        from: componentOf(edge.from),
        to: componentOf(edge.to),
      };
    });

  const auth = keyService(catalog);
  return {
    prefix,
    port,
    tags: { project: prefix, stack },
    namespace,
    network: {
      cidrBlock: settings.vpcCidr,
      zones: catalog.zones,
      zoneIds: settings.availabilityZones,
      natGateways: settings.natGateways,
      flowLogRetentionDays: settings.logRetentionDays,
    },
    imageBuildArgs: {
      NODE_IMAGE: nodeBaseImage,
      RDS_CA_BUNDLE_URL: rdsCaBundle.url,
      RDS_CA_BUNDLE_SHA256: rdsCaBundle.sha256,
    },
    tasks: {
      logRetentionDays: settings.logRetentionDays,
      drainSeconds,
      steadyStateTimeoutMinutes: settings.steadyStateTimeoutMinutes,
      // The root filesystem is read-only: a process writes only here (the embedded SQLite and
      // event files of a program that has no PostgreSQL or Kafka, Node's temporary files).
      writablePaths: [IMAGE_DATA_DIR, "/tmp"],
    },
    domains: allDomains.map((d) => {
      const pool = pools.get(d.name)!;
      const { topic, groupId } = dlqTopics(d.name);
      return {
        domain: d.name,
        name: `${prefix}-${d.name}`,
        poolMax: pool.poolMax,
        maxConnections: pool.maxConnections,
        poolWarning: pool.short
          ? `domain ${d.name}: ${pool.processes} PostgreSQL clients at full scale-out need 2 connections each, and ${d.data.postgres.instanceClass} takes about ${pool.maxConnections}; choose a larger catalog.domains.${d.name}.data.postgres.instanceClass, fewer replicas or a lower platform:maxScaleFactor`
          : undefined,
        storageGb: d.data.postgres.storageGb,
        deadLetters: { topic, consumerGroup: groupId },
      };
    }),
    alb: {
      // The tiers declared their target groups until the ALB owned them: `formerParent` keeps
      // their state.
      targets: allDomains.map((d) => ({
        domain: d.name,
        name: `${tierName(d.name)}-tg`,
        drainSeconds,
        formerParent: tierName(d.name),
      })),
      routes: routingRules(catalog).map((r) => ({ prefix: r.prefix, target: r.domain })),
      defaultTarget: catalog.defaultDomain,
      // What the routed services accept: the ALB and its WAF must not refuse or cut less.
      limits: edgeLimits(catalog),
      certificateArn: settings.certificateArn,
      domain:
        settings.domainName && settings.hostedZoneId
          ? { name: settings.domainName, hostedZoneId: settings.hostedZoneId }
          : undefined,
      deletionProtection: settings.deletionProtection,
      waf: settings.waf ? { rateLimit: settings.wafRateLimit } : undefined,
      accessLogRetentionDays: settings.logRetentionDays,
    },
    workloads,
    blobBuckets: services(catalog)
      .filter((s) => s.blobs)
      .map((s) => ({ service: s.name, name: `${prefix}-${s.name}-blobs` })),
    ingress,
    adminBootstrapWorkload: `${prefix}-${workloadName.service(auth.name, primaryVersion(auth))}`,
    internalEndpoints: Object.fromEntries(
      allDomains.map((d) => [
        `tier.${d.name}`,
        `http://${workloadName.tier(d.name)}.${namespace}:${port}`,
      ]),
    ),
  };
}

/** The secrets that come with being a client of `stores`: Redis's AUTH token. */
function storeSecrets(stores: ReadonlySet<StoreKind>): AwsSecret[] {
  return stores.has("redis") ? ["redisPassword"] : [];
}

/**
 * Marks for deploy-time values, so that the env contract's own functions build the whole
 * environment; `split` takes the marked values back out. A mark found inside a longer value
 * would mean the contract composed it, which the stack could not resolve: that throws.
 */
function deployValues() {
  const marks = new Map<string, DeployValue>();
  const prefix = "\u0000deploy:";
  return {
    mark(value: DeployValue): string {
      const mark = `${prefix}${JSON.stringify(value)}`;
      marks.set(mark, value);
      return mark;
    },
    split(all: Env): { env: Env; deployEnv: Record<string, DeployValue> } {
      const env: Env = {};
      const deployEnv: Record<string, DeployValue> = {};
      for (const [key, value] of Object.entries(all)) {
        const marked = marks.get(value);
        if (marked) deployEnv[key] = marked;
        else if (value.includes(prefix))
          throw new Error(`${key}: a deploy-time value is part of a longer one`);
        else env[key] = value;
      }
      return { env, deployEnv };
    },
  };
}

/** What a one-off task needs to run in a service's network (ServiceGroup `runTask`). */
export interface RunTask {
  taskDefinitionArn: string;
  containerName: string;
  subnetIds: string[];
  securityGroupIds: string[];
}

/**
 * The admin bootstrap as one command: a one-off task of auth's definition, in its network, that
 * writes the key to the secret (docs/identity.md).
 */
export function adminBootstrapCommand(cluster: string, task: RunTask, secretArn: string): string {
  const network = `awsvpcConfiguration={subnets=[${task.subnetIds.join(",")}],securityGroups=[${task.securityGroupIds.join(",")}],assignPublicIp=DISABLED}`;
  const overrides = {
    containerOverrides: [
      { name: task.containerName, command: [ADMIN_KEY_PROGRAM, "--secret-id", secretArn] },
    ],
  };
  return [
    `aws ecs run-task --cluster ${cluster} --launch-type FARGATE`,
    `--task-definition ${task.taskDefinitionArn}`,
    `--network-configuration '${network}'`,
    `--overrides '${JSON.stringify(overrides)}'`,
  ].join(" ");
}

/** The env of a service that reports a queue's depth: where in CloudWatch it reports it. */
function withQueueNamespace<T extends { env: Env }>(split: T, queue?: { namespace: string }): T {
  if (!queue) return split;
  return { ...split, env: { ...split.env, [envKey.queueMetricNamespace]: queue.namespace } };
}
