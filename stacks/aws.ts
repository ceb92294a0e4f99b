import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { BlobBucket } from "../components/aws/blobBucket.ts";
import { DomainData } from "../components/aws/domainData.ts";
import { ExecAudit } from "../components/aws/execAudit.ts";
import { GatewayTier } from "../components/aws/gatewayTier.ts";
import { Network } from "../components/aws/network.ts";
import { Observability } from "../components/aws/observability.ts";
import { S3_ACCESS_LOG_PREFIX } from "../components/aws/albAccessLogs.ts";
import { RoutingAlb } from "../components/aws/routingAlb.ts";
import { ServiceGroup } from "../components/aws/serviceGroup.ts";
import type { SecretEnv } from "../components/aws/fargateTaskDefinition.ts";
import { pushedImage, ServiceImage } from "../components/aws/serviceImage.ts";
import { sourceTree } from "../infra/workloadImages.ts";
import { adminToken } from "../infra/adminToken.ts";
import { domainDataArgs } from "../infra/aws/data.ts";
import type { AwsNetworkPlan, AwsSecret, AwsWorkloadPlan, DeployValue } from "../infra/aws/plan.ts";
import { adminBootstrapCommand, planAws } from "../infra/aws/plan.ts";
import { joinStatements, storeClient } from "../infra/aws/storeClients.ts";
import { chooseZones } from "../infra/aws/zones.ts";
import { principalSecret } from "../infra/principalSecret.ts";
import { redisAuthToken, stackSettings } from "../infra/stackConfig.ts";
import type { Catalog } from "../platform/catalog/index.ts";
import { domains } from "../platform/catalog/index.ts";
import { envKey, secretEnvKey } from "../platform/runtimeEnv.ts";
import type { StackOutputs } from "./outputs.ts";

/**
 * The zones to span, by zone ID rather than name (names map to different zones in each
 * account): the configured ones, else the region's first ones, skipping those MSK refuses.
 * Local and Wavelength zones (opt-in) are left out: they lack most of the services used here.
 */
function availabilityZones({ zones, zoneIds }: AwsNetworkPlan): pulumi.Output<string>[] {
  const region = aws.getAvailabilityZonesOutput({
    state: "available",
    filters: [{ name: "opt-in-status", values: ["opt-in-not-required"] }],
  });
  const chosen = region.apply((r) => chooseZones(r, zones, zoneIds));
  return Array.from({ length: zones }, (_, i) => chosen.apply((names) => names[i]!));
}

/**
 * The AWS target (the plan: infra/aws/plan.ts): a VPC over the catalog's zones, per-domain data
 * stores, one image, an ECS service per catalog service version and per gateway tier, the public
 * ALB as the routing tier (so there is no router service on AWS), and the alarms and dashboard
 * over all of it.
 */
export function deploy(catalog: Catalog): StackOutputs {
  const settings = stackSettings();
  const plan = planAws(catalog, settings, pulumi.getStack());
  const { prefix, port, tags } = plan;
  for (const d of plan.domains) if (d.poolWarning) pulumi.log.warn(d.poolWarning);
  // The image variants the workloads run beside the default (`media`); an image built elsewhere
  // must come with each, checked before anything is declared.
  const variants = [...new Set(plan.workloads.map((w) => w.image))].filter((v) => v !== "services");
  const pushed = settings.serviceImage
    ? pushedImage(settings.serviceImage, settings.mediaImage ? { media: settings.mediaImage } : {})
    : undefined;
  const sourced = sourcedVariants(plan.workloads);
  if (pushed && sourced.size > 0)
    throw new Error(
      `platform:serviceImage: the catalog's versions with a source (${[...sourced.keys()].join(", ")}) need the stack to build their images; unset platform:serviceImage`,
    );
  for (const v of variants)
    if (pushed && !pushed.variantUris[v])
      throw new Error(
        `platform:${v}Image: the catalog's ${v} services need the image's ${v} variant, pushed and pinned by digest like platform:serviceImage`,
      );

  const network = new Network(prefix, {
    cidrBlock: plan.network.cidrBlock,
    availabilityZones: availabilityZones(plan.network),
    natGateways: plan.network.natGateways,
    flowLogRetentionDays: plan.network.flowLogRetentionDays,
    tags,
  });
  const token = redisAuthToken();
  const placement = {
    vpcId: network.vpcId,
    vpcCidrBlock: network.vpcCidrBlock,
    subnetIds: network.isolatedSubnetIds,
    redisAuthToken: token,
    tags,
  };
  const data = new Map(
    domains(catalog).map((d) => [
      d.name,
      new DomainData(`${prefix}-${d.name}`, domainDataArgs(catalog, d, placement, settings)),
    ]),
  );
  const dataOf = (domain: string) => data.get(domain)!;

  // Pulumi runs the program from the project directory, which holds the Dockerfile; a stack
  // given an image built elsewhere deploys that one. A version with a source runs that commit's
  // tree, built beside the checkout's (infra/sourceTrees.ts).
  const image =
    pushed ??
    new ServiceImage(prefix, {
      context: process.cwd(),
      buildArgs: plan.imageBuildArgs,
      variants,
      forceDelete: !settings.deletionProtection,
      tags,
      sources: Object.fromEntries(
        [...sourced].map(([ref, wanted]) => [
          ref,
          { context: sourceTree(ref).context, variants: [...wanted] },
        ]),
      ),
    });
  const imageOf = (variant: string, source?: string) =>
    source
      ? image.sourceUris![source]![variant]!
      : variant === "services"
        ? image.imageUri
        : image.variantUris[variant]!;
  // ECS Exec sessions (gateway tiers, monitoring) are encrypted and recorded.
  const execAudit = new ExecAudit(prefix, { logRetentionDays: settings.logRetentionDays, tags });
  const cluster = new aws.ecs.Cluster(`${prefix}-cluster`, {
    settings: [{ name: "containerInsights", value: "enabled" }],
    configuration: execAudit.clusterConfiguration,
    tags,
  });
  const namespace = new aws.servicediscovery.PrivateDnsNamespace(`${prefix}-ns`, {
    name: plan.namespace,
    vpc: network.vpcId,
    description: `${prefix}: service discovery`,
    tags,
  });

  // The public entry point first: it owns the tiers' target groups, and each tier admits its
  // security group and waits for its rules (ECS attaches a target group once a rule uses it).
  const { targets, ...edge } = plan.alb;
  const alb = new RoutingAlb(prefix, {
    ...edge,
    vpcId: network.vpcId,
    vpcCidrBlock: plan.network.cidrBlock,
    subnetIds: network.publicSubnetIds,
    targets: Object.fromEntries(
      targets.map((t) => [
        t.domain,
        {
          name: t.name,
          drainSeconds: t.drainSeconds,
          aliases: [{ parent: pulumi.createUrn(t.formerParent, "platform:aws:GatewayTier") }],
        },
      ]),
    ),
    targetPort: port,
    tags,
  });

  // Secrets Manager holds what ECS injects at task start, so no task definition, output or log
  // holds a value: the operators' token for the gateways' /admin and monitoring (reached through
  // ECS Exec, docs/aws.md "Operator access"), the key of what the gateways sign, and the first
  // admin key, which a one-off auth task writes (docs/identity.md).
  const secret = (suffix: string, description: string, value?: pulumi.Input<string>) => {
    const stored = new aws.secretsmanager.Secret(`${prefix}-${suffix}`, {
      description: `${prefix}: ${description}`,
      recoveryWindowInDays: 7,
      tags,
    });
    if (value)
      new aws.secretsmanager.SecretVersion(`${prefix}-${suffix}`, {
        secretId: stored.id,
        secretString: value,
      });
    return stored;
  };
  const adminTokenSecret = secret(
    "admin-token",
    "ADMIN_TOKEN of the gateways' /admin endpoints and of monitoring",
    adminToken(prefix),
  );
  const principalSecretStore = secret(
    "principal-secret",
    "PRINCIPAL_SECRET, the key of what the gateways sign for the services",
    principalSecret(prefix),
  );
  const adminBootstrap = secret(
    "admin-bootstrap",
    "the bootstrap admin API key (services/auth/createAdminKey.ts)",
  );
  const secretEnv = (kind: AwsSecret, domain: string): SecretEnv =>
    kind === "redisPassword"
      ? { name: secretEnvKey.redisPassword, secretArn: dataOf(domain).redisAuthSecretArn }
      : kind === "adminToken"
        ? { name: envKey.adminToken, secretArn: adminTokenSecret.arn }
        : { name: envKey.principalSecret, secretArn: principalSecretStore.arn };
  const writeAdminBootstrap = adminBootstrap.arn.apply((arn): Record<string, unknown>[] => [
    {
      Sid: "WriteBootstrapAdminKey",
      Effect: "Allow",
      Action: "secretsmanager:PutSecretValue",
      Resource: arn,
    },
  ]);

  // A service that keeps blobs gets a bucket of its own, whose every request is logged beside
  // the ALB's logs and kept as long.
  const buckets = new Map(
    plan.blobBuckets.map(({ service, name }) => [
      service,
      new BlobBucket(name, {
        forceDestroy: !settings.deletionProtection,
        accessLogs: { bucket: alb.accessLogBucket, prefix: `${S3_ACCESS_LOG_PREFIX}${service}/` },
        tags: { ...tags, service },
      }),
    ]),
  );
  const region = aws.getRegionOutput().region;
  const resolve = (v: DeployValue): pulumi.Output<string> => {
    switch (v.from) {
      case "databaseUrl":
        return dataOf(v.domain).databaseUrlFor(v.service);
      case "redisUrl":
        return dataOf(v.domain).endpoints.redisUrl;
      case "kafkaBrokers":
        return dataOf(v.domain).endpoints.kafkaBrokers;
      case "blobBucket":
        return buckets.get(v.service)!.bucketName;
      case "blobKmsKey":
        return buckets.get(v.service)!.kmsKeyArn;
      case "region":
        return region;
    }
  };
  const environment = (w: AwsWorkloadPlan) =>
    pulumi
      .all(Object.fromEntries(Object.entries(w.deployEnv).map(([k, v]) => [k, resolve(v)])))
      .apply((values) => ({ ...w.env, ...values }));

  const groups = new Map<string, GatewayTier | ServiceGroup>();
  for (const w of plan.workloads) {
    const service = w.workload.kind === "service" ? w.workload.service : undefined;
    const client = storeClient(dataOf(w.domain), w.stores, service);
    const args = {
      clusterArn: cluster.arn,
      clusterName: cluster.name,
      vpcId: network.vpcId,
      vpcCidrBlock: network.vpcCidrBlock,
      s3PrefixListId: network.s3PrefixListId,
      subnetIds: network.privateSubnetIds,
      namespaceId: namespace.id,
      image: imageOf(w.image, w.source),
      repositoryArn: image.repositoryArn,
      containerPort: port,
      ...plan.tasks,
      execAuditStatements: execAudit.taskStatements,
      tags,
      replicas: w.replicas,
      maxReplicas: w.maxReplicas,
      discoveryName: w.label,
      command: [w.program],
      cpu: w.cpu,
      memory: w.memory,
      environment: environment(w),
      secrets: w.secrets.map((s) => secretEnv(s, w.domain)),
      memberOfSecurityGroupIds: client.memberOfSecurityGroupIds,
      taskPolicyStatements: joinStatements([
        client.taskPolicyStatements,
        service === undefined ? undefined : buckets.get(service)?.clientStatements,
        w.writesAdminBootstrap ? writeAdminBootstrap : undefined,
      ]),
      execCommand: w.execCommand,
      internetEgress: w.internetEgress,
      queueScaling: w.queueScaling,
    };
    const group =
      "alb" in w.admits
        ? new GatewayTier(w.name, {
            ...args,
            loadBalancerSecurityGroupId: alb.securityGroupId,
            targetGroupArn: alb.targetGroups[w.domain]!.arn,
            serviceDependsOn: alb.rules,
          })
        : new ServiceGroup(w.name, {
            ...args,
            sourceSecurityGroupIds: [groups.get(w.admits.tier)!.securityGroupId],
          });
    groups.set(w.name, group);
  }
  for (const rule of plan.ingress) {
    new aws.vpc.SecurityGroupIngressRule(rule.name, {
      securityGroupId: groups.get(rule.to)!.securityGroupId,
      referencedSecurityGroupId: groups.get(rule.from)!.securityGroupId,
      ipProtocol: "tcp",
      fromPort: port,
      toPort: port,
      description: rule.description,
      tags,
    });
  }

  const observability = new Observability(prefix, {
    loadBalancerArnSuffix: alb.arnSuffix,
    targetGroups: plan.alb.targets.map((t) => ({
      label: `gw-${t.domain}`,
      arnSuffix: alb.targetGroups[t.domain]!.arnSuffix,
    })),
    databases: plan.domains.map((d) => ({
      label: d.domain,
      identifier: dataOf(d.domain).databaseIdentifier,
      storageGb: d.storageGb,
      maxConnections: d.maxConnections,
    })),
    caches: plan.domains.map((d) => ({ label: d.domain, nodeIds: dataOf(d.domain).redisNodeIds })),
    deadLetterQueues: plan.domains.map((d) => ({
      label: d.domain,
      clusterName: dataOf(d.domain).kafkaClusterName,
      ...d.deadLetters,
    })),
    kafkaClusters: plan.domains.flatMap((d) => {
      const { kafkaBrokerCount: brokers, kafkaClusterName: clusterName } = dataOf(d.domain);
      return brokers ? [{ label: d.domain, clusterName, brokers }] : [];
    }),
    services: plan.workloads.map((w) => ({
      label: w.label,
      clusterName: cluster.name,
      serviceName: groups.get(w.name)!.serviceName,
      minTasks: w.replicas,
    })),
    alarmEmail: settings.alarmEmail,
    tags,
  });

  const authGroup = groups.get(plan.adminBootstrapWorkload);
  if (!(authGroup instanceof ServiceGroup)) throw new Error("the admin bootstrap runs a service");
  // Data-store addresses carry no credentials: those stay in Secrets Manager.
  const stores = plan.domains.map(({ domain }) => {
    const e = dataOf(domain).endpoints;
    return pulumi.all({
      [`domain.${domain}.postgres`]: e.databaseUrl,
      [`domain.${domain}.redis`]: e.redisUrl,
      [`domain.${domain}.kafka`]: e.kafkaBrokers,
    });
  });
  const named = pulumi.all({
    loadBalancer: alb.dnsName,
    imageRepository: image.repositoryUrl,
    dashboard: observability.dashboardName,
    alarmTopic: observability.alarmTopicArn,
    adminBootstrapSecret: adminBootstrap.arn,
    adminBootstrapCommand: pulumi
      .all([cluster.name, authGroup.runTask, adminBootstrap.arn])
      .apply(([clusterName, task, arn]) => adminBootstrapCommand(clusterName, task, arn)),
    adminTokenSecret: adminTokenSecret.arn,
  });
  return {
    url: alb.url,
    endpoints: pulumi
      .all([alb.url, named, pulumi.all(stores)])
      .apply(([url, { loadBalancer, ...rest }, domainStores]): Record<string, string> => ({
        api: `${url}/v1`,
        loadBalancer,
        ...plan.internalEndpoints,
        ...Object.assign({}, ...domainStores),
        ...rest,
      })),
  };
}

/** The image variants each source ref's workloads run, by ref. */
function sourcedVariants(workloads: readonly { image: string; source?: string }[]) {
  const byRef = new Map<string, Set<string>>();
  for (const w of workloads)
    if (w.source) byRef.set(w.source, (byRef.get(w.source) ?? new Set()).add(w.image));
  return byRef;
}
