import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { BlobBucket } from "../components/aws/blobBucket.ts";
import { DomainData } from "../components/aws/domainData.ts";
import { ExecAudit } from "../components/aws/execAudit.ts";
import { GatewayTier } from "../components/aws/gatewayTier.ts";
import { Network } from "../components/aws/network.ts";
import { Observability } from "../components/aws/observability.ts";
import { RoutingAlb, S3_ACCESS_LOG_PREFIX } from "../components/aws/routingAlb.ts";
import { ServiceGroup } from "../components/aws/serviceGroup.ts";
import { ServiceImage } from "../components/aws/serviceImage.ts";
import type { SecretEnv } from "../components/aws/serviceGroup.ts";
import { adminToken } from "../infra/adminToken.ts";
import { dlqTopics } from "../services/gateway/dlqTopics.ts";
import { principalSecret } from "../infra/principalSecret.ts";
import { checkAwsCatalog } from "../infra/aws/catalogRules.ts";
import { domainDataArgs } from "../infra/aws/data.ts";
import {
  cloudMapAddresses,
  drainSeconds,
  databasePool,
  ingressRuleOf,
  nodeBaseImage,
  joinStatements,
  primaryVersion,
  rdsCaBundle,
  storeAccess,
} from "../infra/aws/workloads.ts";
import { chooseZones } from "../infra/aws/zones.ts";
import type { Catalog } from "../platform/catalog/index.ts";
import { reachability, type Workload } from "../platform/catalog/reachability.ts";
import {
  domains,
  edgeLimits,
  keyService,
  routingRules,
  services,
} from "../platform/catalog/index.ts";
import {
  IMAGE_DATA_DIR,
  entrypoint,
  envKey,
  gatewayEnv,
  serviceEnv,
} from "../platform/runtimeEnv.ts";
import type { StackSettings } from "../infra/stackConfig.ts";
import { redisAuthToken, stackSettings } from "../infra/stackConfig.ts";
import type { StackOutputs } from "./outputs.ts";
import { gatewayStores } from "../platform/catalog/index.ts";
import { workloadName } from "../platform/names.ts";

/** The admin bootstrap command (services/auth/createAdminKey.ts), as the image's node runs it. */
const ADMIN_KEY_PROGRAM = "services/auth/createAdminKey.ts";

/**
 * The zones to span, by zone ID rather than name (names map to different zones in each
 * account): the configured ones, else the region's first ones, skipping those MSK refuses.
 * Local and Wavelength zones (opt-in) are left out: they lack most of the services used here.
 */
function availabilityZones(count: number, settings: StackSettings): pulumi.Input<string>[] {
  if (settings.availabilityZones && settings.availabilityZones.length < count)
    throw new Error(
      `platform:availabilityZones lists ${settings.availabilityZones.length} zones but catalog.zones is ${count}`,
    );
  const region = aws.getAvailabilityZonesOutput({
    state: "available",
    filters: [{ name: "opt-in-status", values: ["opt-in-not-required"] }],
  });
  const chosen = region.apply((r) => chooseZones(r, count, settings.availabilityZones));
  return Array.from({ length: count }, (_, i) => chosen.apply((zones) => zones[i]!));
}

/**
 * The AWS target: a VPC over the catalog's zones, per-domain data stores, one image, an ECS
 * service per catalog service version and per gateway tier, the public ALB as the routing
 * tier (so there is no router service on AWS), and the alarms and dashboard over all of it.
 */
export function deploy(catalog: Catalog): StackOutputs {
  const settings = stackSettings();
  checkAwsCatalog(catalog, settings, pulumi.getStack());
  const prefix = catalog.name;
  const port = catalog.containerPort;
  const tags = { project: prefix, stack: pulumi.getStack() };
  const allDomains = domains(catalog);

  const network = new Network(prefix, {
    cidrBlock: settings.vpcCidr,
    availabilityZones: availabilityZones(catalog.zones, settings),
    natGateways: settings.natGateways,
    flowLogRetentionDays: settings.logRetentionDays,
    tags,
  });

  const token = redisAuthToken();
  const data = new Map(
    allDomains.map((d) => [
      d.name,
      new DomainData(
        `${prefix}-${d.name}`,
        domainDataArgs(
          catalog,
          d,
          {
            vpcId: network.vpcId,
            vpcCidrBlock: network.vpcCidrBlock,
            subnetIds: network.isolatedSubnetIds,
            redisAuthToken: token,
            tags,
          },
          settings,
        ),
      ),
    ]),
  );
  const dataOf = (domain: string) => data.get(domain)!;

  // Pulumi runs the program from the project directory, which holds the Dockerfile.
  const image = new ServiceImage(prefix, {
    context: process.cwd(),
    buildArgs: {
      NODE_IMAGE: nodeBaseImage,
      RDS_CA_BUNDLE_URL: rdsCaBundle.url,
      RDS_CA_BUNDLE_SHA256: rdsCaBundle.sha256,
    },
    forceDelete: !settings.deletionProtection,
    tags,
  });
  // ECS Exec sessions (gateway tiers, monitoring) are encrypted and recorded.
  const execAudit = new ExecAudit(prefix, { logRetentionDays: settings.logRetentionDays, tags });
  const cluster = new aws.ecs.Cluster(`${prefix}-cluster`, {
    settings: [{ name: "containerInsights", value: "enabled" }],
    configuration: execAudit.clusterConfiguration,
    tags,
  });
  const namespaceName = `${prefix}.internal`;
  const namespace = new aws.servicediscovery.PrivateDnsNamespace(`${prefix}-ns`, {
    name: namespaceName,
    vpc: network.vpcId,
    description: `${prefix}: service discovery`,
    tags,
  });
  const common = {
    clusterArn: cluster.arn,
    clusterName: cluster.name,
    vpcId: network.vpcId,
    vpcCidrBlock: network.vpcCidrBlock,
    s3PrefixListId: network.s3PrefixListId,
    subnetIds: network.privateSubnetIds,
    namespaceId: namespace.id,
    image: image.imageUri,
    repositoryArn: image.repositoryArn,
    containerPort: port,
    logRetentionDays: settings.logRetentionDays,
    drainSeconds,
    steadyStateTimeoutMinutes: settings.steadyStateTimeoutMinutes,
    execAuditStatements: execAudit.taskStatements,
    // The root filesystem is read-only: a process writes only here (the embedded SQLite and
    // event files of a program that has no PostgreSQL or Kafka, Node's temporary files).
    writablePaths: [IMAGE_DATA_DIR, "/tmp"],
    tags,
  };
  const scaled = (replicas: number) => ({
    replicas,
    maxReplicas: replicas * settings.maxScaleFactor,
  });

  // The public entry point first: it owns the tiers' target groups, and each tier admits its
  // security group and waits for its rules (ECS attaches a target group once a rule uses it).
  const alb = new RoutingAlb(prefix, {
    vpcId: network.vpcId,
    vpcCidrBlock: settings.vpcCidr,
    subnetIds: network.publicSubnetIds,
    // One target group per gateway tier, declared by the tier until the ALB owned them.
    targets: Object.fromEntries(
      allDomains.map((d) => {
        const tier = `${prefix}-gw-${d.name}`;
        const formerParent = pulumi.createUrn(tier, "platform:aws:GatewayTier");
        return [d.name, { name: `${tier}-tg`, drainSeconds, aliases: [{ parent: formerParent }] }];
      }),
    ),
    routes: routingRules(catalog).map((r) => ({ prefix: r.prefix, target: r.domain })),
    defaultTarget: catalog.defaultDomain,
    certificateArn: settings.certificateArn,
    domain:
      settings.domainName && settings.hostedZoneId
        ? { name: settings.domainName, hostedZoneId: settings.hostedZoneId }
        : undefined,
    targetPort: port,
    // What the routed services accept: the ALB and its WAF must not refuse or cut less.
    limits: edgeLimits(catalog),
    deletionProtection: settings.deletionProtection,
    waf: settings.waf ? { rateLimit: settings.wafRateLimit } : undefined,
    accessLogRetentionDays: settings.logRetentionDays,
    tags,
  });

  // The operators' token for the gateways' /admin and for monitoring through a gateway: in
  // Secrets Manager, injected by ECS at task start (the execution role may read it), so its value
  // is in no task definition, output or log. Operators read it where its ARN says, and reach the
  // tasks through ECS Exec (docs/aws.md, "Operator access").
  const adminTokenSecret = new aws.secretsmanager.Secret(`${prefix}-admin-token`, {
    description: `${prefix}: ADMIN_TOKEN of the gateways' /admin endpoints and of monitoring`,
    recoveryWindowInDays: 7,
    tags,
  });
  new aws.secretsmanager.SecretVersion(`${prefix}-admin-token`, {
    secretId: adminTokenSecret.id,
    secretString: adminToken(prefix),
  });
  const adminTokenEnv: SecretEnv = { name: envKey.adminToken, secretArn: adminTokenSecret.arn };
  // What the gateways sign and every service checks: injected the same way into every tier and
  // every service (never the ALB's side), so no task definition holds its value.
  const principalSecretStore = new aws.secretsmanager.Secret(`${prefix}-principal-secret`, {
    description: `${prefix}: PRINCIPAL_SECRET, the key of what the gateways sign for the services`,
    recoveryWindowInDays: 7,
    tags,
  });
  new aws.secretsmanager.SecretVersion(`${prefix}-principal-secret`, {
    secretId: principalSecretStore.id,
    secretString: principalSecret(prefix),
  });
  const principalSecretEnv: SecretEnv = {
    name: envKey.principalSecret,
    secretArn: principalSecretStore.arn,
  };

  const addresses = cloudMapAddresses(catalog, namespaceName);
  const tiers = new Map(
    allDomains.map((d) => {
      const access = storeAccess(dataOf(d.name), gatewayStores);
      const tier = new GatewayTier(`${prefix}-gw-${d.name}`, {
        ...common,
        ...scaled(d.gateway.replicas),
        discoveryName: workloadName.tier(d.name),
        command: [entrypoint("gateway")],
        cpu: d.gateway.cpu,
        memory: d.gateway.memory,
        environment: access.endpoints.apply((endpoints) =>
          gatewayEnv(catalog, d.name, addresses, port, "aws", endpoints),
        ),
        secrets: [...access.secrets, adminTokenEnv, principalSecretEnv],
        memberOfSecurityGroupIds: access.memberOfSecurityGroupIds,
        taskPolicyStatements: access.taskPolicyStatements,
        execCommand: true,
        loadBalancerSecurityGroupId: alb.securityGroupId,
        targetGroupArn: alb.targetGroups[d.name]!.arn,
        serviceDependsOn: alb.rules,
      });
      return [d.name, tier] as const;
    }),
  );
  const tierOf = (domain: string) => {
    const tier = tiers.get(domain);
    if (!tier) throw new Error(`no gateway tier for domain "${domain}"`);
    return tier;
  };

  // A service that keeps blobs (catalog `blobs`) gets a bucket of its own, which only its
  // tasks may use.
  const region = aws.getRegionOutput().region;
  const buckets = new Map(
    services(catalog)
      .filter((s) => s.blobs)
      .map((s) => [
        s.name,
        new BlobBucket(`${prefix}-${s.name}-blobs`, {
          forceDestroy: !settings.deletionProtection,
          // Every request to the blobs is logged, beside the ALB's logs and kept as long.
          accessLogs: {
            bucket: alb.accessLogBucket,
            prefix: `${S3_ACCESS_LOG_PREFIX}${s.name}/`,
          },
          tags: { ...tags, service: s.name },
        }),
      ]),
  );

  // The first admin key: a one-off auth task writes it here (createAdminKey.ts --secret-id), so
  // that it never appears in a log (docs/identity.md). Only the auth tasks may write it.
  const adminBootstrap = new aws.secretsmanager.Secret(`${prefix}-admin-bootstrap`, {
    description: `${prefix}: the bootstrap admin API key (services/auth/createAdminKey.ts)`,
    recoveryWindowInDays: 7,
    tags,
  });
  const writeAdminBootstrap = adminBootstrap.arn.apply((arn): Record<string, unknown>[] => [
    {
      Sid: "WriteBootstrapAdminKey",
      Effect: "Allow",
      Action: "secretsmanager:PutSecretValue",
      Resource: arn,
    },
  ]);

  // Every PostgreSQL client of a domain, at full scale-out, must fit its instance's connection
  // limit: each process pools its share (infra/aws/workloads.ts databasePool).
  const pools = new Map(
    allDomains.map((d) => {
      const pool = databasePool(catalog, d.name, settings.maxScaleFactor);
      if (pool.short)
        pulumi.log.warn(
          `domain ${d.name}: ${pool.processes} PostgreSQL clients at full scale-out need 2 connections each, and ${d.data.postgres.instanceClass} takes about ${pool.maxConnections}; choose a larger catalog.domains.${d.name}.data.postgres.instanceClass, fewer replicas or a lower platform:maxScaleFactor`,
        );
      return [d.name, pool] as const;
    }),
  );
  const poolOf = (domain: string) => pools.get(domain)!;

  // Each version of each service runs on its own and admits its domain's gateway tier, and the
  // services that call it (below).
  const serviceGroups = services(catalog).flatMap((s) => {
    const access = storeAccess(dataOf(s.domain), new Set(s.uses), {
      service: s.name,
      databasePoolMax: poolOf(s.domain).poolMax,
    });
    const bucket = buckets.get(s.name);
    const blobs =
      bucket &&
      pulumi
        .all([bucket.bucketName, bucket.kmsKeyArn, region])
        .apply(([name, kmsKeyId, r]) => ({ bucket: name, kmsKeyId, region: r }));
    const taskPolicyStatements = joinStatements([
      access.taskPolicyStatements,
      bucket?.clientStatements,
      s.role === "api-keys" ? writeAdminBootstrap : undefined,
    ]);
    const operated = s.role === "monitoring";
    return s.versions.map((v) => {
      const label = workloadName.service(s.name, v.name);
      return {
        label,
        replicas: s.replicas,
        group: new ServiceGroup(`${prefix}-${label}`, {
          ...common,
          ...scaled(s.replicas),
          discoveryName: label,
          command: [entrypoint(s.name)],
          cpu: s.cpu,
          memory: s.memory,
          environment: pulumi
            .all([access.endpoints, blobs])
            .apply(([endpoints, blobEndpoint]) =>
              serviceEnv(catalog, s.name, port, endpoints, v.name, addresses, blobEndpoint),
            ),
          secrets: [...access.secrets, principalSecretEnv, ...(operated ? [adminTokenEnv] : [])],
          memberOfSecurityGroupIds: access.memberOfSecurityGroupIds,
          taskPolicyStatements,
          execCommand: operated,
          internetEgress: s.internet,
          sourceSecurityGroupIds: [tierOf(s.domain).securityGroupId],
        }),
      };
    });
  });

  const groupOf = (label: string) => serviceGroups.find((g) => g.label === label)!.group;
  // Who may connect to whom (platform/catalog/reachability.ts): one ingress rule per connection
  // between tiers and services. The ALB (the router here) to the tiers, and each tier to its
  // services, are the components' own rules (`sourceSecurityGroupIds`); the ALB has no task for
  // monitoring to scrape.
  const labelOf = (w: Workload) =>
    w.kind === "tier"
      ? `gw-${w.domain}`
      : w.kind === "service"
        ? workloadName.service(w.service, w.version)
        : "router";
  const groupIdOf = (w: Workload) =>
    w.kind === "tier" ? tierOf(w.domain).securityGroupId : groupOf(labelOf(w)).securityGroupId;
  for (const edge of reachability(catalog)) {
    const { from, to, reasons } = edge;
    if (from.kind === "router" || to.kind === "router" || reasons.includes("proxies")) continue;
    const [source, target] = [labelOf(from), labelOf(to)];
    const rule = ingressRuleOf(catalog, edge, source, target);
    new aws.vpc.SecurityGroupIngressRule(`${prefix}-${rule.name}`, {
      securityGroupId: groupIdOf(to),
      referencedSecurityGroupId: groupIdOf(from),
      ipProtocol: "tcp",
      fromPort: port,
      toPort: port,
      description: rule.description,
      tags,
    });
  }

  const observability = new Observability(prefix, {
    loadBalancerArnSuffix: alb.arnSuffix,
    targetGroups: allDomains.map((d) => ({
      label: `gw-${d.name}`,
      arnSuffix: alb.targetGroups[d.name]!.arnSuffix,
    })),
    databases: allDomains.map((d) => ({
      label: d.name,
      identifier: dataOf(d.name).databaseIdentifier,
      storageGb: d.data.postgres.storageGb,
      maxConnections: poolOf(d.name).maxConnections,
    })),
    caches: allDomains.map((d) => ({ label: d.name, nodeIds: dataOf(d.name).redisNodeIds })),
    deadLetterQueues: allDomains.map((d) => {
      const { topic, groupId } = dlqTopics(d.name);
      return {
        label: d.name,
        clusterName: dataOf(d.name).kafkaClusterName,
        topic,
        consumerGroup: groupId,
      };
    }),
    kafkaClusters: allDomains.flatMap((d) => {
      const { kafkaBrokerCount: brokers, kafkaClusterName: clusterName } = dataOf(d.name);
      return brokers ? [{ label: d.name, clusterName, brokers }] : [];
    }),
    services: [
      ...allDomains.map((d) => ({
        label: workloadName.tier(d.name),
        clusterName: cluster.name,
        serviceName: tierOf(d.name).serviceName,
        minTasks: d.gateway.replicas,
      })),
      ...serviceGroups.map(({ label, replicas, group }) => ({
        label,
        clusterName: cluster.name,
        serviceName: group.serviceName,
        minTasks: replicas,
      })),
    ],
    alarmEmail: settings.alarmEmail,
    tags,
  });

  // Per-tier and per-domain endpoints. Data-store addresses carry no credentials: those stay in
  // Secrets Manager.
  const internal = Object.fromEntries(
    allDomains.map(
      (d) =>
        [`tier.${d.name}`, `http://${workloadName.tier(d.name)}.${namespaceName}:${port}`] as const,
    ),
  );
  const domainEndpoints = pulumi.all(
    allDomains.map((d) => {
      const e = dataOf(d.name).endpoints;
      return pulumi
        .all([e.databaseUrl, e.redisUrl, e.kafkaBrokers])
        .apply(([postgres, redis, kafka]) => ({
          [`domain.${d.name}.postgres`]: postgres,
          [`domain.${d.name}.redis`]: redis,
          [`domain.${d.name}.kafka`]: kafka,
        }));
    }),
  );
  // The admin bootstrap as one command: a one-off task of auth's definition, in its network,
  // that writes the key to the secret (docs/identity.md).
  const auth = keyService(catalog);
  const authGroup = groupOf(workloadName.service(auth.name, primaryVersion(auth)));
  const adminBootstrapCommand = pulumi
    .all([cluster.name, authGroup.runTask, adminBootstrap.arn])
    .apply(([clusterName, task, secretArn]) => {
      const network = `awsvpcConfiguration={subnets=[${task.subnetIds.join(",")}],securityGroups=[${task.securityGroupIds.join(",")}],assignPublicIp=DISABLED}`;
      const overrides = {
        containerOverrides: [
          { name: task.containerName, command: [ADMIN_KEY_PROGRAM, "--secret-id", secretArn] },
        ],
      };
      return [
        `aws ecs run-task --cluster ${clusterName} --launch-type FARGATE`,
        `--task-definition ${task.taskDefinitionArn}`,
        `--network-configuration '${network}'`,
        `--overrides '${JSON.stringify(overrides)}'`,
      ].join(" ");
    });
  return {
    url: alb.url,
    endpoints: pulumi
      .all([
        alb.url,
        alb.dnsName,
        image.repositoryUrl,
        domainEndpoints,
        observability.dashboardName,
        observability.alarmTopicArn,
        pulumi.all({
          adminBootstrapSecret: adminBootstrap.arn,
          adminBootstrapCommand,
          adminTokenSecret: adminTokenSecret.arn,
        }),
      ])
      .apply(
        ([url, dnsName, repository, stores, dashboard, alarmTopic, operator]): Record<
          string,
          string
        > => ({
          api: `${url}/v1`,
          loadBalancer: dnsName,
          ...internal,
          ...Object.assign({}, ...stores),
          imageRepository: repository,
          dashboard,
          alarmTopic,
          ...operator,
        }),
      ),
  };
}
