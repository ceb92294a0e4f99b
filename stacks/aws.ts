import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { DomainData } from "../components/aws/domainData.ts";
import { GatewayTier } from "../components/aws/gatewayTier.ts";
import { Network } from "../components/aws/network.ts";
import { RoutingAlb } from "../components/aws/routingAlb.ts";
import { ServiceGroup } from "../components/aws/serviceGroup.ts";
import { ServiceImage } from "../components/aws/serviceImage.ts";
import { domainDataArgs } from "../infra/aws/data.ts";
import {
  cloudMapAddresses,
  gatewayStores,
  primaryVersion,
  storeAccess,
  tierDiscoveryName,
} from "../infra/aws/workloads.ts";
import type { Catalog } from "../infra/catalog/index.ts";
import { domains, routingRules, services } from "../infra/catalog/index.ts";
import { authServiceDomain, entrypoint, gatewayEnv, serviceEnv } from "../infra/runtimeEnv.ts";
import { redisAuthToken, stackSettings } from "../infra/stackConfig.ts";
import type { StackOutputs } from "./outputs.ts";

/**
 * The AWS target: a VPC over the catalog's zones, per-domain data stores, one image, an ECS
 * service per catalog service and per gateway tier, and the public ALB as the routing tier
 * (so there is no router service on AWS).
 */
export function deploy(catalog: Catalog): StackOutputs {
  const settings = stackSettings();
  const prefix = catalog.name;
  const port = catalog.containerPort;
  const tags = { project: prefix, stack: pulumi.getStack() };
  const allDomains = domains(catalog);

  const available = aws.getAvailabilityZonesOutput({ state: "available" });
  const zones = Array.from({ length: catalog.zones }, (_, i) =>
    available.names.apply((names) => {
      const zone = names[i];
      if (!zone)
        throw new Error(
          `catalog.zones is ${catalog.zones} but the region has only ${names.length} zones`,
        );
      return zone;
    }),
  );
  const network = new Network(prefix, {
    cidrBlock: settings.vpcCidr,
    availabilityZones: zones,
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
          d,
          {
            vpcId: network.vpcId,
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
  const image = new ServiceImage(prefix, { context: process.cwd(), tags });
  const cluster = new aws.ecs.Cluster(`${prefix}-cluster`, {
    settings: [{ name: "containerInsights", value: "enabled" }],
    tags,
  });
  const namespaceName = `${prefix}.internal`;
  const namespace = new aws.servicediscovery.PrivateDnsNamespace(`${prefix}-ns`, {
    name: namespaceName,
    vpc: network.vpcId,
    description: `${prefix}: service discovery`,
    tags,
  });
  const addresses = cloudMapAddresses(catalog, namespaceName);
  const common = {
    clusterArn: cluster.arn,
    vpcId: network.vpcId,
    subnetIds: network.privateSubnetIds,
    namespaceId: namespace.id,
    image: image.imageUri,
    repositoryArn: image.repositoryArn,
    containerPort: port,
    logRetentionDays: settings.logRetentionDays,
    tags,
  };

  // The ALB's rules need each tier's target group, and each tier needs the ALB: its security
  // group is the tier's only allowed source, and ECS attaches a target group only once a rule
  // uses it. The tiers therefore take the ALB as a promise, settled once the ALB exists.
  let albCreated!: (alb: RoutingAlb) => void;
  const albPromise = new Promise<RoutingAlb>((resolve) => (albCreated = resolve));
  const tiers = new Map(
    allDomains.map((d) => {
      const access = storeAccess(dataOf(d.name), gatewayStores);
      const tier = new GatewayTier(`${prefix}-gw-${d.name}`, {
        ...common,
        discoveryName: tierDiscoveryName(d.name),
        command: ["node", entrypoint("gateway")],
        cpu: d.gateway.cpu,
        memory: d.gateway.memory,
        replicas: d.gateway.replicas,
        environment: access.endpoints.apply((endpoints) =>
          gatewayEnv(catalog, d.name, addresses, port, endpoints),
        ),
        secrets: access.secrets,
        memberOfSecurityGroupIds: access.memberOfSecurityGroupIds,
        taskPolicyStatements: access.taskPolicyStatements,
        loadBalancerSecurityGroupId: pulumi.output(albPromise).apply((alb) => alb.securityGroupId),
        serviceDependsOn: albPromise.then((alb) => alb.rules),
      });
      return [d.name, tier] as const;
    }),
  );
  const tierOf = (domain: string) => {
    const tier = tiers.get(domain);
    if (!tier) throw new Error(`no gateway tier for domain "${domain}"`);
    return tier;
  };

  // The other tiers verify API keys through the tier that hosts the auth service.
  const authTier = authServiceDomain(catalog);
  for (const d of allDomains.filter((d) => d.name !== authTier)) {
    new aws.vpc.SecurityGroupIngressRule(`${prefix}-gw-${d.name}-to-${authTier}`, {
      securityGroupId: tierOf(authTier).securityGroupId,
      referencedSecurityGroupId: tierOf(d.name).securityGroupId,
      ipProtocol: "tcp",
      fromPort: port,
      toPort: port,
      description: `${d.name} tier verifies keys through the ${authTier} tier`,
    });
  }

  // Each service admits its domain's gateway tier only.
  for (const s of services(catalog)) {
    const access = storeAccess(dataOf(s.domain), new Set(s.uses));
    const version = primaryVersion(s);
    new ServiceGroup(`${prefix}-${s.name}`, {
      ...common,
      discoveryName: s.name,
      command: ["node", entrypoint(s.name)],
      cpu: s.cpu,
      memory: s.memory,
      replicas: s.replicas,
      environment: access.endpoints.apply((endpoints) =>
        serviceEnv(catalog, s.name, port, endpoints, version),
      ),
      secrets: access.secrets,
      memberOfSecurityGroupIds: access.memberOfSecurityGroupIds,
      taskPolicyStatements: access.taskPolicyStatements,
      sourceSecurityGroupIds: [tierOf(s.domain).securityGroupId],
    });
  }

  const alb = new RoutingAlb(prefix, {
    vpcId: network.vpcId,
    vpcCidrBlock: settings.vpcCidr,
    subnetIds: network.publicSubnetIds,
    routes: routingRules(catalog).map((r) => ({
      prefix: r.prefix,
      targetGroupArn: tierOf(r.domain).targetGroupArn,
    })),
    defaultTargetGroupArn: tierOf(catalog.defaultDomain).targetGroupArn,
    certificateArn: settings.certificateArn,
    targetPort: port,
    deletionProtection: settings.deletionProtection,
    tags,
  });
  albCreated(alb);

  const internal = Object.fromEntries(
    allDomains.map((d) => [tierDiscoveryName(d.name), addresses.tiers[d.name]![0]!] as const),
  );
  return {
    url: alb.url,
    endpoints: pulumi
      .all([alb.url, image.repositoryUrl])
      .apply(([url, repository]): Record<string, string> => ({
        api: `${url}/v1`,
        ...internal,
        imageRepository: repository,
      })),
  };
}
