import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { ContainerGroup } from "../components/docker/containerGroup.ts";
import { DataStores, storeAliases } from "../components/docker/dataStores.ts";
import { BuiltImage } from "../components/docker/builtImage.ts";
import { adminToken } from "../infra/adminToken.ts";
import { principalSecret } from "../infra/principalSecret.ts";
import { workloadName } from "../platform/names.ts";
import type { Catalog, StoreKind } from "../platform/catalog/index.ts";
import { domains, gatewayStores, keyService, services } from "../platform/catalog/index.ts";
import { dockerSettings, postgresPassword } from "../infra/docker/config.ts";
import type { DataEndpoints } from "../platform/runtimeEnv.ts";
import {
  addressesOf,
  entrypoint,
  envKey,
  gatewayEnv,
  IMAGE_DATA_DIR,
  routerEnv,
  secretEnvKey,
  serviceEnv,
  versionedName,
} from "../platform/runtimeEnv.ts";
import type { StackOutputs } from "./outputs.ts";

/**
 * The Docker target: one bridge network, each domain's Redis, PostgreSQL and Kafka, one image
 * built on the engine, every service and gateway tier with its catalog replica count, and the
 * router, the only group that publishes host ports. Callers find a group's replicas by its
 * network alias, which Docker's DNS answers with one address per replica (as a Kubernetes
 * headless Service does), so every caller holds the full replica list as on the other targets.
 */
export function deploy(catalog: Catalog): StackOutputs {
  const settings = dockerSettings();
  const password = postgresPassword(catalog.name);
  const port = catalog.containerPort;
  const allDomains = domains(catalog);
  const allServices = services(catalog);

  const addresses = addressesOf(catalog, (_, name, at) => `http://${name}:${at}`, {
    routers: true,
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
        images: {
          redis: settings.redisImage,
          postgres: settings.postgresImage,
          kafka: settings.kafkaImage,
        },
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
  // What the gateways sign and every service checks: in the same secret env file.
  const signingEnv = { [envKey.principalSecret]: principalSecret(catalog.name) };

  // Each version of a service runs as a group of its own (`orders`, `orders-v2`); the gateways'
  // version router splits the traffic between them by the catalog's weights.
  const serviceGroups = new Map(
    allServices.flatMap((s) => {
      const { endpoints, secrets } = storeEnv(s.domain, new Set(s.uses));
      // A service that keeps blobs keeps them on disk here (no S3): every replica must read what
      // another stored, so its replicas (of every version) share one volume as DATA_DIR. The
      // image's (empty, app-owned) DATA_DIR seeds a new volume, so the non-root process can write.
      const blobs = s.blobs
        ? new docker.Volume(`${workloadName.service(s.name)}-data`, {
            labels: [{ label: "platform.service", value: s.name }],
          })
        : undefined;
      return s.versions.map((v) => {
        const group = new ContainerGroup(
          workloadName.service(s.name, v.name),
          {
            ...common,
            command: [entrypoint(s.name)],
            replicas: s.replicas,
            env: serviceEnv(catalog, s.name, port, endpoints, v.name, addresses),
            secretEnv: {
              ...secrets,
              ...signingEnv,
              ...(s.role === "monitoring" ? adminEnv : {}),
            },
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
  const authDomain = keyService(catalog).domain;
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
        workloadName.tier(d.name),
        {
          ...common,
          command: [entrypoint("gateway")],
          replicas: d.gateway.replicas,
          env: gatewayEnv(catalog, d.name, addresses, port, "docker", endpoints),
          secretEnv: { ...adminEnv, ...signingEnv },
          memoryMb: d.gateway.memory,
        },
        { dependsOn },
      ),
    );
  }

  const router = new ContainerGroup(
    workloadName.router,
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

  const publicUrl = router.hostUrls[0]!;
  const internal = Object.fromEntries(
    allDomains.map((d) => [workloadName.tier(d.name), addresses.tiers[d.name]!.join(",")] as const),
  );
  return {
    url: pulumi.output(publicUrl),
    endpoints: pulumi.output<Record<string, string>>({
      api: `${publicUrl}/v1`,
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
  claim(workloadName.router, "the router");
  for (const d of domains(catalog)) {
    claim(workloadName.tier(d.name), `gateway tier ${d.name}`);
    for (const [kind, alias] of Object.entries(storeAliases(d.name)))
      claim(alias, `domain ${d.name}'s ${kind}`);
  }
  for (const s of services(catalog)) {
    for (const v of s.versions)
      claim(workloadName.service(s.name, v.name), `service ${versionedName(s.name, v.name)}`);
  }
}
