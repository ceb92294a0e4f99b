import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { ContainerGroup } from "../components/docker/containerGroup.ts";
import { DataStores } from "../components/docker/dataStores.ts";
import { adminToken } from "../infra/adminToken.ts";
import { dockerSettings, postgresPassword } from "../infra/docker/config.ts";
import type { DockerSecret } from "../infra/docker/plan.ts";
import { planDocker } from "../infra/docker/plan.ts";
import { principalSecret } from "../infra/principalSecret.ts";
import { workloadImages } from "../infra/workloadImages.ts";
import type { Catalog } from "../platform/catalog/index.ts";
import { domains } from "../platform/catalog/index.ts";
import { workloadName } from "../platform/names.ts";
import { envKey, IMAGE_DATA_DIR, secretEnvKey } from "../platform/runtimeEnv.ts";
import type { StackOutputs } from "./outputs.ts";

/**
 * The Docker target (the plan: infra/docker/plan.ts): a network per connection the catalog
 * allows and per workload's data stores, each domain's Redis, PostgreSQL and Kafka, the image
 * (and its media variant) built on the engine, every service and gateway tier with its catalog
 * replica count, and the router, the only group that publishes host ports. Callers find a group's replicas by its
 * network alias, which Docker's DNS answers with one address per replica (as a Kubernetes
 * headless Service does), so every caller holds the full replica list as on the other targets.
 */
export function deploy(catalog: Catalog): StackOutputs {
  const settings = dockerSettings();
  const plan = planDocker(catalog, settings.networkPool);
  const password = postgresPassword(catalog.name);
  // The values of the secrets a group's env file holds (ContainerGroup `secretEnv`): the admin
  // token is for operators inside a gateway container (docs/docker.md, "Operator access").
  const secretValue: Record<DockerSecret, [string, pulumi.Input<string>]> = {
    databasePassword: [secretEnvKey.databasePassword, password],
    adminToken: [envKey.adminToken, adminToken(catalog.name)],
    principalSecret: [envKey.principalSecret, principalSecret(catalog.name)],
  };

  const networks = new Map(
    plan.networks.map((n) => [
      n.name,
      new docker.Network(n.name, {
        name: n.name,
        driver: "bridge",
        internal: n.internal,
        ipamConfigs: [{ subnet: n.subnet }],
        labels: [
          { label: "project", value: catalog.name },
          { label: "platform.purpose", value: n.purpose },
        ],
      }),
    ]),
  );
  const networkNames = (names: readonly string[]) => names.map((n) => networks.get(n)!.name);
  const images = workloadImages(catalog.name, plan.groups, (variant, commit) => ({
    // A sourced version's image is tagged with its commit; the checkout's is `local`.
    imageName: commit
      ? commit.apply((c) => `${catalog.name}/${variant}:${c.slice(0, 12)}`)
      : `${catalog.name}/${variant}:local`,
    buildArgs: { NODE_IMAGE: settings.nodeImage },
    buildNetwork: settings.buildNetwork,
  }));
  const stores = new Map(
    plan.stores.map((d) => [
      d.domain,
      new DataStores(d.domain, {
        networks: Object.fromEntries(
          Object.entries(d.networks).map(([kind, on]) => [kind, networkNames(on)]),
        ),
        postgresPassword: password,
        postgresMaxConnections: d.postgresMaxConnections,
        database: d.domain,
        images: {
          redis: settings.redisImage,
          postgres: settings.postgresImage,
          kafka: settings.kafkaImage,
        },
      }),
    ]),
  );
  const volumes = new Map<string, docker.Volume>();
  const volume = ({ name, service }: { name: string; service: string }) =>
    volumes.get(name) ??
    volumes
      .set(
        name,
        new docker.Volume(name, { labels: [{ label: "platform.service", value: service }] }),
      )
      .get(name)!;

  const groups = new Map<string, ContainerGroup>();
  for (const g of plan.groups) {
    const shared = g.sharedVolume ? volume(g.sharedVolume) : undefined;
    const dependsOn: pulumi.Resource[] = [
      ...(g.after.storesOf ? [stores.get(g.after.storesOf)!] : []),
      ...g.after.groups.map((name) => groups.get(name)!),
    ];
    groups.set(
      g.name,
      new ContainerGroup(
        g.name,
        {
          image: images.of(g).imageRef,
          port: catalog.containerPort,
          command: [g.program],
          replicas: g.replicas,
          networks: networkNames(g.networks),
          env: g.env,
          secretEnv: Object.fromEntries(g.secrets.map((s) => secretValue[s])),
          memoryMb: g.memoryMb,
          hostPort: g.publishes ? settings.routerPort : undefined,
          sharedVolumes: shared ? [{ volumeName: shared.name, containerPath: IMAGE_DATA_DIR }] : [],
        },
        { dependsOn },
      ),
    );
  }

  const router = groups.get(workloadName.router)!;
  const publicUrl = router.hostUrls[0]!;
  const internal = Object.fromEntries(
    domains(catalog).map((d) => [
      workloadName.tier(d.name),
      groups.get(workloadName.tier(d.name))!.url,
    ]),
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
