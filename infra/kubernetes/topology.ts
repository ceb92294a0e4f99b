import type { PodPeer } from "../../components/kubernetes/peers.ts";
import type { Catalog, Service, StoreKind } from "../catalog/index.ts";
import { domains, services, storesUsed } from "../catalog/index.ts";
import type { Addresses } from "../runtimeEnv.ts";
import { scrapeTargets, versionedName } from "../runtimeEnv.ts";
import { gatewayStores, tierDiscoveryName } from "../aws/workloads.ts";

// Catalog-aware names for the Kubernetes target: namespaces, workload names and labels, and the
// in-cluster address of every tier and service version. The NetworkPolicies are built from the
// same labels, so a rename cannot open or close a path by accident.

/** The namespace of the router and its Ingress. */
export function routingNamespace(catalog: Catalog): string {
  return `${catalog.name}-routing`;
}

/** The namespace of one domain: its gateway tier, services, data stores and secrets. */
export function domainNamespace(catalog: Catalog, domain: string): string {
  return `${catalog.name}-${domain}`;
}

export const routerName = "router";
export const tierName = tierDiscoveryName;

/** Workload name of one version of a service: `orders` for v1, `orders-v2` for the others. */
export function serviceWorkloadName(service: string, version: string): string {
  return version === "v1" ? service : `${service}-${version}`;
}

/** The labels that select a workload's pods, in its Deployment, Service and policies. */
export function workloadLabels(
  catalog: Catalog,
  name: string,
  component: "router" | "gateway" | "service",
): Record<string, string> {
  return {
    "app.kubernetes.io/name": name,
    "app.kubernetes.io/part-of": catalog.name,
    "app.kubernetes.io/component": component,
  };
}

/** The pods of a workload, as a NetworkPolicy peer. */
export function workloadPeer(
  catalog: Catalog,
  namespace: string,
  name: string,
  component: "router" | "gateway" | "service",
): PodPeer {
  return { namespace, labels: workloadLabels(catalog, name, component) };
}

/** `http://<service>.<namespace>.svc.cluster.local:<port>`: the Service balances the replicas. */
export function clusterUrl(namespace: string, name: string, port: number): string {
  return `http://${name}.${namespace}.svc.cluster.local:${port}`;
}

/**
 * The headless Service beside each workload's Service (components/kubernetes/workload.ts): its
 * DNS name has one A record per pod, ready or not. Monitoring finds every replica through it, and
 * the router and gateways send to each pod themselves (services/shared/upstream.ts), so that
 * their failover manager balances, checks and ejects pods one by one; an unready pod fails its
 * /readyz check there and gets no traffic.
 */
export function podsName(workload: string): string {
  return `${workload}-pods`;
}

/** Where every tier and service version is, as the env contract wants it. */
export function clusterAddresses(catalog: Catalog): Addresses {
  const port = catalog.containerPort;
  const pods = (namespace: string, workload: string, at = port) => ({
    dns: clusterUrl(namespace, podsName(workload), at),
  });
  return {
    replicas: scrapeTargets(catalog, {
      router: () => pods(routingNamespace(catalog), routerName, catalog.opsPort),
      tier: (d) => pods(domainNamespace(catalog, d), tierName(d)),
      service: (s, v) =>
        pods(domainNamespace(catalog, catalog.services[s]!.domain), serviceWorkloadName(s, v)),
    }),
    tiers: Object.fromEntries(
      domains(catalog).map((d) => [
        d.name,
        [clusterUrl(domainNamespace(catalog, d.name), podsName(tierName(d.name)), port)],
      ]),
    ),
    services: Object.fromEntries(
      services(catalog).flatMap((s) =>
        s.versions.map((v) => [
          versionedName(s.name, v.name),
          [
            clusterUrl(
              domainNamespace(catalog, s.domain),
              podsName(serviceWorkloadName(s.name, v.name)),
              port,
            ),
          ],
        ]),
      ),
    ),
  };
}

/** Every store a domain's workloads (its gateway tier and its services) talk to. */
export function domainStores(catalog: Catalog, domain: string): Set<StoreKind> {
  const d = domains(catalog).find((x) => x.name === domain);
  if (!d) throw new Error(`unknown domain "${domain}"`);
  return new Set([...storesUsed(d), ...gatewayStores]);
}

/** The workloads of a domain that use `store`, as NetworkPolicy peers. */
export function storeClients(catalog: Catalog, domain: string, store: StoreKind): PodPeer[] {
  const ns = domainNamespace(catalog, domain);
  const users: PodPeer[] = gatewayStores.has(store)
    ? [workloadPeer(catalog, ns, tierName(domain), "gateway")]
    : [];
  for (const s of services(catalog).filter((x) => x.domain === domain && x.uses.includes(store))) {
    for (const v of s.versions)
      users.push(workloadPeer(catalog, ns, serviceWorkloadName(s.name, v.name), "service"));
  }
  return users;
}

/** CPU in millicores from the catalog's ECS units (1024 units = one vCPU). */
export function cpuMillis(units: number): number {
  return Math.round((units * 1000) / 1024);
}

/** A service's versions with their workload names. */
export function serviceWorkloads(s: Service): { version: string; name: string }[] {
  return s.versions.map((v) => ({ version: v.name, name: serviceWorkloadName(s.name, v.name) }));
}

/** Fails, naming both, when two namespaces of the target would have the same name. */
export function assertDistinctNamespaces(catalog: Catalog): void {
  const routing = routingNamespace(catalog);
  for (const d of domains(catalog)) {
    if (domainNamespace(catalog, d.name) === routing)
      throw new Error(
        `kubernetes target: domain "${d.name}" would share the namespace ${routing} with the router`,
      );
  }
}
