import { createHash } from "node:crypto";
import type { Catalog, StoreKind } from "../../platform/catalog/index.ts";
import { domains, gatewayStores, services } from "../../platform/catalog/index.ts";
import type { Workload } from "../../platform/catalog/reachability.ts";
import { reachability, workloadKey } from "../../platform/catalog/reachability.ts";
import { nameOf } from "../../platform/names.ts";

// The Docker target's networks, from the reachability statement. A Docker network is one L2
// segment: every member reaches every other, on every port. So each connection of the statement
// gets a network of its own, holding exactly its two groups, and each workload that uses data
// stores gets one with exactly those stores: two containers share a network only when the
// statement lets one call the other, or one is a store the other uses (a service's versions
// share theirs, so they also reach each other there). What Docker cannot say is direction and
// port: the callee can open a connection back, to any port its caller listens on.
//
// All of them are `internal` (no route out of the host, no published port) but the router's own,
// which publishes its host ports, and the egress network of a service whose catalog entry says
// `internet`.
//
// Docker's default address pools hold about 31 networks, fewer than a catalog needs, so each
// network gets a subnet of its own from `platform:networkPool`: a /27 (29 addresses) at a slot
// chosen by a hash of the network's name. A network keeps its subnet when the catalog changes
// (a replica more, a service more) unless a new name lands on its slot first.

/** What a network is for, in words, for labels and reviews. */
export type NetworkPurpose = "calls" | "stores" | "publishes" | "egress";

export interface NetworkPlan {
  /** The Docker network name: the stack's name and the members'. */
  name: string;
  purpose: NetworkPurpose;
  internal: boolean;
  /** An IPv4 CIDR inside the pool. */
  subnet: string;
  /** Workload names (`orders`, `gateway-identity`) and store aliases (`business-postgres`). */
  members: string[];
}

/** Bits of each network's subnet: a /27, 32 addresses, 29 for containers (Docker takes one). */
const SUBNET_BITS = 27;
const usable = 2 ** (32 - SUBNET_BITS) - 3;

/** Replicas of a workload, as many containers join each of its networks. */
function replicasOf(catalog: Catalog, w: Workload): number {
  return w.kind === "router"
    ? catalog.router.replicas
    : w.kind === "tier"
      ? catalog.domains[w.domain]!.gateway.replicas
      : catalog.services[w.service]!.replicas;
}

/**
 * Who uses which of a domain's stores: each gateway tier, and each service with all its versions.
 * A service's versions share one network to the stores, so that a version added for an upgrade
 * joins the network that is there and changes nothing of the stores' containers (a changed
 * network list replaces a container on Docker, PostgreSQL and Kafka included).
 */
function storeUsers(
  catalog: Catalog,
): { name: string; members: Workload[]; domain: string; stores: StoreKind[] }[] {
  const order: StoreKind[] = ["postgres", "redis", "kafka"];
  const sorted = (set: ReadonlySet<StoreKind>) => order.filter((k) => set.has(k));
  return [
    ...domains(catalog).map((d) => {
      const tier: Workload = { kind: "tier", domain: d.name };
      return { name: nameOf(tier), members: [tier], domain: d.name, stores: sorted(gatewayStores) };
    }),
    ...services(catalog).map((s) => ({
      name: nameOf({ kind: "service", service: s.name, version: "v1" }),
      members: s.versions.map((v): Workload => ({
        kind: "service",
        service: s.name,
        version: v.name,
      })),
      domain: s.domain,
      stores: sorted(new Set(s.uses)),
    })),
  ].filter((u) => u.stores.length > 0);
}

/**
 * The networks of the Docker target. `storeAlias(domain, kind)` is the network name of a
 * domain's store (components/docker/dataStores.ts); `pool` the IPv4 range the subnets come from.
 */
export function dockerNetworks(
  catalog: Catalog,
  storeAlias: (domain: string, kind: StoreKind) => string,
  pool: string,
): NetworkPlan[] {
  const prefix = catalog.name;
  const wanted: Omit<NetworkPlan, "subnet">[] = [];
  const size = new Map<string, number>();
  const add = (n: Omit<NetworkPlan, "subnet">, containers: number) => {
    if (containers > usable)
      throw new Error(
        `docker target: network ${n.name} would hold ${containers} containers; a /${SUBNET_BITS} holds ${usable}: run fewer replicas of ${n.members.join(" and ")}`,
      );
    wanted.push(n);
    size.set(n.name, containers);
  };

  const seen = new Set<string>();
  for (const edge of reachability(catalog)) {
    const [a, b] = [edge.from, edge.to].sort((x, y) =>
      workloadKey(x).localeCompare(workloadKey(y)),
    ) as [Workload, Workload];
    // A group's replicas share all its networks, so a group calling itself needs none.
    if (workloadKey(a) === workloadKey(b)) continue;
    const members = [nameOf(a), nameOf(b)];
    const name = `${prefix}-${members.join("--")}`;
    if (seen.has(name)) continue;
    seen.add(name);
    add(
      { name, purpose: "calls", internal: true, members },
      replicasOf(catalog, a) + replicasOf(catalog, b),
    );
  }
  for (const u of storeUsers(catalog)) {
    add(
      {
        name: `${prefix}-${u.name}--stores`,
        purpose: "stores",
        internal: true,
        members: [...u.members.map(nameOf), ...u.stores.map((k) => storeAlias(u.domain, k))],
      },
      u.members.reduce((sum, w) => sum + replicasOf(catalog, w), 0) + u.stores.length,
    );
  }
  add(
    {
      name: `${prefix}-router--public`,
      purpose: "publishes",
      internal: false,
      members: [nameOf({ kind: "router" })],
    },
    catalog.router.replicas,
  );
  for (const s of services(catalog).filter((x) => x.internet)) {
    for (const v of s.versions) {
      const w: Workload = { kind: "service", service: s.name, version: v.name };
      add(
        {
          name: `${prefix}-${nameOf(w)}--egress`,
          purpose: "egress",
          internal: false,
          members: [nameOf(w)],
        },
        s.replicas,
      );
    }
  }
  const subnets = allocateSubnets(
    wanted.map((n) => n.name),
    pool,
  );
  return wanted.map((n) => ({ ...n, subnet: subnets.get(n.name)! }));
}

/** The stores of a domain that some workload uses, with the networks each joins. */
export function storeNetworks(networks: readonly NetworkPlan[], storeAlias: string): string[] {
  return networks.filter((n) => n.members.includes(storeAlias)).map((n) => n.name);
}

/** The networks a workload's containers join. */
export function workloadNetworks(networks: readonly NetworkPlan[], workload: string): string[] {
  return networks.filter((n) => n.members.includes(workload)).map((n) => n.name);
}

/** Parses `a.b.c.d/n` into its first address (as a number) and prefix length. */
export function parseCidr(cidr: string): { base: number; bits: number } | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (octets.some((o) => o > 255) || bits > 32) return undefined;
  const base = octets.reduce((n, o) => n * 256 + o, 0);
  const span = 2 ** (32 - bits);
  if (base % span !== 0) return undefined;
  return { base, bits };
}

function formatAddress(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

/**
 * One /27 of `pool` per name, at the slot a SHA-256 of the name points to, the next free one on
 * a clash (names taken in sorted order, so the result depends on the set of names only).
 */
function allocateSubnets(names: readonly string[], pool: string): Map<string, string> {
  const parsed = parseCidr(pool);
  if (!parsed || parsed.bits > SUBNET_BITS)
    throw new Error(
      `docker target: network pool "${pool}" must be an IPv4 CIDR of /${SUBNET_BITS} or wider`,
    );
  const slots = 2 ** (SUBNET_BITS - parsed.bits);
  if (names.length > slots)
    throw new Error(
      `docker target: ${names.length} networks need more than the ${slots} subnets of ${pool}; widen platform:networkPool`,
    );
  const taken = new Set<number>();
  const result = new Map<string, string>();
  for (const name of [...names].sort()) {
    let slot = createHash("sha256").update(name).digest().readUInt32BE(0) % slots;
    while (taken.has(slot)) slot = (slot + 1) % slots;
    taken.add(slot);
    result.set(
      name,
      `${formatAddress(parsed.base + slot * 2 ** (32 - SUBNET_BITS))}/${SUBNET_BITS}`,
    );
  }
  return result;
}
