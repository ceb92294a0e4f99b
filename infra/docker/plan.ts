import { storeAliases, storeEndpoints } from "../../components/docker/dataStores.ts";
import type { Catalog, StoreKind } from "../../platform/catalog/index.ts";
import {
  domains,
  gatewayStores,
  keyService,
  postgresPools,
  services,
} from "../../platform/catalog/index.ts";
import { workloadName } from "../../platform/names.ts";
import type { DataEndpoints, Env } from "../../platform/runtimeEnv.ts";
import {
  addressesOf,
  entrypoint,
  imageVariant,
  type ImageVariant,
  gatewayEnv,
  routerEnv,
  serviceEnv,
  versionedName,
} from "../../platform/runtimeEnv.ts";
import type { NetworkPlan } from "./networks.ts";
import { dockerNetworks, storeNetworks, workloadNetworks } from "./networks.ts";

// The Docker target as plain data: every network, store and container group with its
// environment, networks and start order, computed from the catalog alone. stacks/docker.ts turns
// it into resources and adds what only the engine knows (the image, the secrets' values);
// infra/docker/plan.test.ts checks it without Pulumi.

/** Secrets a group receives in its env file, by what they are (stacks/docker.ts holds the values). */
export type DockerSecret = "databasePassword" | "adminToken" | "principalSecret";

export interface GroupPlan {
  /** The group's name, network alias and Pulumi name. */
  name: string;
  kind: "router" | "gateway" | "service";
  /** The program the containers run (node's argument). */
  program: string;
  /** The image variant it runs (`media` for a catalog service with `media: true`). */
  image: ImageVariant;
  /** The git ref its image is built from (catalog `source`); unset: the checkout. */
  source?: string;
  replicas: number;
  memoryMb?: number;
  env: Env;
  secrets: DockerSecret[];
  networks: string[];
  /** Groups and domains (whose stores) that must be up first. */
  after: { groups: string[]; storesOf?: string };
  /** A volume all replicas (of every version) share as DATA_DIR, for a service that keeps blobs. */
  sharedVolume?: { name: string; service: string };
  /** Publishes host ports from `routerPort` (the router only). */
  publishes: boolean;
}

export interface DomainStoresPlan {
  domain: string;
  /** The networks of each store that a workload uses; a store no one uses is not run. */
  networks: Partial<Record<StoreKind, string[]>>;
  /** PostgreSQL's `max_connections`: `POSTGRES_MAX_CONNECTIONS`, which the plan checks. */
  postgresMaxConnections: number;
}

/**
 * Every domain's PostgreSQL takes this many connections: more than the image's 100, which the
 * business domain's pools (ten connections each, the services' default) outgrow once a version
 * runs beside another ("sorry, too many clients already" under the upgrade test's load). A
 * number of its own, not one counted from the catalog: a container whose command changes is
 * replaced, and a replica or a version added must not restart the database.
 */
export const POSTGRES_MAX_CONNECTIONS = 500;
/** Connections each process's pool may open (DATABASE_POOL_MAX's default), and those kept spare. */
const POOL_MAX = 10;
const SPARE_CONNECTIONS = 10;

export interface DockerPlan {
  networks: NetworkPlan[];
  stores: DomainStoresPlan[];
  /** In creation order: services, the tier that verifies keys, the other tiers, the router. */
  groups: GroupPlan[];
}

/** The Docker target's topology, from the catalog and the pool its networks' subnets come from. */
export function planDocker(catalog: Catalog, networkPool: string): DockerPlan {
  assertUniqueAliases(catalog);
  const port = catalog.containerPort;
  const addresses = addressesOf(catalog, (_, name, at) => `http://${name}:${at}`, {
    routers: true,
  });
  const networks = dockerNetworks(
    catalog,
    (domain, kind) => storeAliases(domain)[kind],
    networkPool,
  );
  const stores = domains(catalog).map((d) => ({
    domain: d.name,
    postgresMaxConnections: postgresLimit(catalog, d.name),
    networks: Object.fromEntries(
      Object.entries(storeAliases(d.name))
        .map(([kind, alias]) => [kind, storeNetworks(networks, alias)] as const)
        .filter(([, on]) => on.length > 0),
    ),
  }));
  /** The part of a domain's stores that a program uses. */
  const endpointsOf = (domain: string, uses: ReadonlySet<StoreKind>): DataEndpoints => {
    const e = storeEndpoints(domain);
    return {
      databaseUrl: uses.has("postgres") ? e.databaseUrl : undefined,
      redisUrl: uses.has("redis") ? e.redisUrl : undefined,
      kafkaBrokers: uses.has("kafka") ? e.kafkaBrokers : undefined,
    };
  };

  const groups: GroupPlan[] = [];
  // Each version of a service runs as a group of its own (`orders`, `orders-v2`); the gateways'
  // version router splits the traffic between them by the catalog's weights.
  for (const s of services(catalog)) {
    const uses = new Set(s.uses);
    for (const v of s.versions) {
      const name = workloadName.service(s.name, v.name);
      groups.push({
        name,
        kind: "service",
        program: entrypoint(s.name),
        image: imageVariant(s),
        source: v.source?.ref,
        replicas: s.replicas,
        memoryMb: s.memory,
        env: serviceEnv(catalog, s.name, port, endpointsOf(s.domain, uses), v.name, addresses),
        secrets: [
          ...(uses.has("postgres") ? (["databasePassword"] as const) : []),
          "principalSecret",
          ...(s.role === "monitoring" ? (["adminToken"] as const) : []),
        ],
        networks: workloadNetworks(networks, name),
        after: { groups: [], storesOf: s.domain },
        // Every replica (of every version) must read what another stored: one volume for all.
        sharedVolume: s.blobs
          ? { name: `${workloadName.service(s.name)}-data`, service: s.name }
          : undefined,
        publishes: false,
      });
    }
  }
  // Every tier verifies API keys through the tier that hosts auth: that one starts first.
  const authDomain = keyService(catalog).domain;
  const ordered = [...domains(catalog)].sort(
    (a, b) => Number(b.name === authDomain) - Number(a.name === authDomain),
  );
  for (const d of ordered) {
    const name = workloadName.tier(d.name);
    groups.push({
      name,
      kind: "gateway",
      program: entrypoint("gateway"),
      image: "services",
      replicas: d.gateway.replicas,
      memoryMb: d.gateway.memory,
      env: gatewayEnv(
        catalog,
        d.name,
        addresses,
        port,
        "docker",
        endpointsOf(d.name, gatewayStores),
      ),
      secrets: ["adminToken", "principalSecret"],
      networks: workloadNetworks(networks, name),
      after: {
        groups: [
          ...d.services.flatMap((s) => s.versions.map((v) => workloadName.service(s.name, v.name))),
          ...(d.name === authDomain ? [] : [workloadName.tier(authDomain)]),
        ],
        storesOf: d.name,
      },
      publishes: false,
    });
  }
  groups.push({
    name: workloadName.router,
    kind: "router",
    program: entrypoint("router"),
    image: "services",
    replicas: catalog.router.replicas,
    memoryMb: catalog.router.memory,
    env: routerEnv(catalog, addresses, port),
    secrets: [],
    networks: workloadNetworks(networks, workloadName.router),
    after: { groups: ordered.map((d) => workloadName.tier(d.name)) },
    publishes: true,
  });
  return { networks, stores, groups };
}

/** POSTGRES_MAX_CONNECTIONS, or an error naming the domain when its pools would not fit in it. */
function postgresLimit(catalog: Catalog, domain: string): number {
  const pools = postgresPools(catalog, domain);
  if (pools * POOL_MAX + SPARE_CONNECTIONS > POSTGRES_MAX_CONNECTIONS)
    throw new Error(
      `docker target: domain ${domain}'s PostgreSQL clients hold ${pools} pools of ${POOL_MAX} connections, more than its ${POSTGRES_MAX_CONNECTIONS} (less ${SPARE_CONNECTIONS} spare): run fewer replicas or versions of its services`,
    );
  return POSTGRES_MAX_CONNECTIONS;
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
