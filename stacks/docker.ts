import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { ContainerGroup, replicaAliases } from "../components/docker/containerGroup.ts";
import { DataStores, storeAliases } from "../components/docker/dataStores.ts";
import { BuiltImage } from "../components/docker/builtImage.ts";
import { adminToken } from "../infra/adminToken.ts";
import { gatewayStores, secretEnvKey, tierDiscoveryName } from "../infra/aws/workloads.ts";
import type { Catalog, StoreKind } from "../infra/catalog/index.ts";
import { domains, services } from "../infra/catalog/index.ts";
import { dockerSettings, postgresPassword } from "../infra/docker/config.ts";
import type { Addresses, DataEndpoints } from "../infra/runtimeEnv.ts";
import {
  authServiceDomain,
  entrypoint,
  envKey,
  gatewayEnv,
  IMAGE_DATA_DIR,
  MONITORING_SERVICE,
  routerEnv,
  scrapeTargets,
  serviceEnv,
  versionedName,
} from "../infra/runtimeEnv.ts";
import type { StackOutputs } from "./outputs.ts";

/** Names of the container groups; each replica's network alias is `<group>-<n>`. */
export const groupName = {
  router: "router",
  tier: tierDiscoveryName,
  /** `orders` for v1, `orders-v2` for a canary: each version runs as a group of its own. */
  service: (service: string, version = "v1") =>
    version === "v1" ? service : `${service}-${version}`,
} as const;

/**
 * The Docker target: one bridge network, each domain's Redis, PostgreSQL and Kafka, one image
 * built on the engine, every service and gateway tier with its catalog replica count, and the
 * router, the only group that publishes host ports. Peers find each other by network alias,
 * one per replica, so every caller holds the full replica list as on the other targets.
 */
export function deploy(catalog: Catalog): StackOutputs {
  const settings = dockerSettings();
  const password = postgresPassword();
  const port = catalog.containerPort;
  const allDomains = domains(catalog);
  const allServices = services(catalog);

  const urls = (group: string, replicas: number) =>
    replicaAliases(group, replicas).map((alias) => `http://${alias}:${port}`);
  const addresses: Addresses = {
    tiers: Object.fromEntries(
      allDomains.map((d) => [d.name, urls(groupName.tier(d.name), d.gateway.replicas)]),
    ),
    services: Object.fromEntries(
      allServices.flatMap((s) =>
        s.versions.map((v) => [
          versionedName(s.name, v.name),
          urls(groupName.service(s.name, v.name), s.replicas),
        ]),
      ),
    ),
  };
  // Every replica has an alias of its own, so monitoring gets the full list up front.
  const ids = (group: string, replicas: number, at = port) => ({
    replicas: replicaAliases(group, replicas).map((alias) => ({
      id: alias,
      url: `http://${alias}:${at}`,
    })),
  });
  addresses.replicas = scrapeTargets(catalog, {
    router: () => ids(groupName.router, catalog.router.replicas, catalog.opsPort),
    tier: (domain) => ids(groupName.tier(domain), catalog.domains[domain]!.gateway.replicas),
    service: (service, version) =>
      ids(groupName.service(service, version), catalog.services[service]!.replicas),
  });
  assertUniqueAliases(catalog);

  const network = new docker.Network(`${catalog.name}-net`, {
    driver: "bridge",
    labels: [{ label: "project", value: catalog.name }],
  });
  const image = new BuiltImage(`${catalog.name}-services`, {
    imageName: `${catalog.name}/services:local`,
    buildArgs: { NODE_IMAGE: settings.nodeImage },
    buildNetwork: settings.buildNetwork,
  });

  const data = new Map(
    allDomains.map((d) => [
      d.name,
      new DataStores(d.name, {
        network: network.name,
        postgresPassword: password,
        database: d.name,
      }),
    ]),
  );
  const dataOf = (domain: string) => data.get(domain)!;

  /** The part of a domain's data stores that a program uses, and the password if it has a database. */
  const storeEnv = (domain: string, stores: ReadonlySet<StoreKind>) => {
    const d = dataOf(domain);
    const endpoints: DataEndpoints = {
      databaseUrl: stores.has("postgres") ? d.databaseUrl : undefined,
      redisUrl: stores.has("redis") ? d.redisUrl : undefined,
      kafkaBrokers: stores.has("kafka") ? d.kafkaBrokers : undefined,
    };
    const secrets: Record<string, pulumi.Input<string>> = stores.has("postgres")
      ? { [secretEnvKey.databasePassword]: password }
      : {};
    return { endpoints, secrets };
  };

  const common = { image: image.imageRef, network: network.name, port };
  // The operators' token for the gateways' /admin and monitoring: in the secret env file, like
  // PGPASSWORD, so `docker inspect` shows nothing; an operator uses it from inside a gateway
  // container (docs/docker.md, "Operator access").
  const adminEnv = { [envKey.adminToken]: adminToken(catalog.name) };

  // Each version of a service runs as a group of its own (`orders`, `orders-v2`); the gateways'
  // version router splits the traffic between them by the catalog's weights.
  const serviceGroups = new Map(
    allServices.flatMap((s) => {
      const { endpoints, secrets } = storeEnv(s.domain, new Set(s.uses));
      // A service that keeps blobs keeps them on disk here (no S3): every replica must read what
      // another stored, so its replicas (of every version) share one volume as DATA_DIR. The
      // image's (empty, app-owned) DATA_DIR seeds a new volume, so the non-root process can write.
      const blobs = s.blobs
        ? new docker.Volume(`${groupName.service(s.name)}-data`, {
            labels: [{ label: "platform.service", value: s.name }],
          })
        : undefined;
      return s.versions.map((v) => {
        const group = new ContainerGroup(
          groupName.service(s.name, v.name),
          {
            ...common,
            command: [entrypoint(s.name)],
            replicas: s.replicas,
            env: serviceEnv(catalog, s.name, port, endpoints, v.name, addresses),
            secretEnv: s.name === MONITORING_SERVICE ? { ...secrets, ...adminEnv } : secrets,
            memoryMb: s.memory,
            sharedVolumes: blobs ? [{ volumeName: blobs.name, containerPath: IMAGE_DATA_DIR }] : [],
          },
          { dependsOn: [dataOf(s.domain)] },
        );
        return [versionedName(s.name, v.name), group] as const;
      });
    }),
  );

  // Every tier verifies API keys through the tier that hosts auth: that one starts first.
  const authDomain = authServiceDomain(catalog);
  const ordered = [...allDomains].sort(
    (a, b) => Number(b.name === authDomain) - Number(a.name === authDomain),
  );
  const tiers = new Map<string, ContainerGroup>();
  for (const d of ordered) {
    const { endpoints } = storeEnv(d.name, gatewayStores);
    const dependsOn: pulumi.Resource[] = [
      dataOf(d.name),
      ...d.services.flatMap((s) =>
        s.versions.map((v) => serviceGroups.get(versionedName(s.name, v.name))!),
      ),
    ];
    if (d.name !== authDomain) dependsOn.push(tiers.get(authDomain)!);
    tiers.set(
      d.name,
      new ContainerGroup(
        groupName.tier(d.name),
        {
          ...common,
          command: [entrypoint("gateway")],
          replicas: d.gateway.replicas,
          env: gatewayEnv(catalog, d.name, addresses, port, "docker", endpoints),
          secretEnv: adminEnv,
          memoryMb: d.gateway.memory,
        },
        { dependsOn },
      ),
    );
  }

  const router = new ContainerGroup(
    groupName.router,
    {
      ...common,
      command: [entrypoint("router")],
      replicas: catalog.router.replicas,
      env: routerEnv(catalog, addresses, port),
      memoryMb: catalog.router.memory,
      hostPort: settings.routerPort,
    },
    { dependsOn: [...tiers.values()] },
  );

  const url = router.hostUrls[0]!;
  const internal = Object.fromEntries(
    allDomains.map((d) => [groupName.tier(d.name), addresses.tiers[d.name]!.join(",")] as const),
  );
  return {
    url: pulumi.output(url),
    endpoints: pulumi.output<Record<string, string>>({
      api: `${url}/v1`,
      routers: router.hostUrls.join(","),
      ...internal,
    }),
  };
}

/** Fails, naming both, when two groups or stores would share a network alias. */
function assertUniqueAliases(catalog: Catalog): void {
  const owners = new Map<string, string>();
  const claim = (alias: string, owner: string) => {
    const other = owners.get(alias);
    if (other)
      throw new Error(
        `docker target: ${owner} and ${other} would both use the network alias "${alias}"`,
      );
    owners.set(alias, owner);
  };
  for (const alias of replicaAliases(groupName.router, catalog.router.replicas))
    claim(alias, "the router");
  for (const d of domains(catalog)) {
    for (const alias of replicaAliases(groupName.tier(d.name), d.gateway.replicas))
      claim(alias, `gateway tier ${d.name}`);
    for (const [kind, alias] of Object.entries(storeAliases(d.name)))
      claim(alias, `domain ${d.name}'s ${kind}`);
  }
  for (const s of services(catalog)) {
    for (const v of s.versions)
      for (const alias of replicaAliases(groupName.service(s.name, v.name), s.replicas))
        claim(alias, `service ${versionedName(s.name, v.name)}`);
  }
}
