import type { PodPeer } from "../../components/kubernetes/peers.ts";
import type { Catalog, Service, StoreKind } from "../../platform/catalog/index.ts";
import { domains, gatewayStores, services, storesUsed } from "../../platform/catalog/index.ts";
import { workloadName } from "../../platform/names.ts";
import type { Addresses } from "../../platform/runtimeEnv.ts";
import { addressesOf } from "../../platform/runtimeEnv.ts";

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

/** Where every tier and service version is, as the env contract wants it: its pods' name. */
export function clusterAddresses(catalog: Catalog): Addresses {
  return addressesOf(
    catalog,
    (w, name, port) =>
      clusterUrl(
        w.kind === "router"
          ? routingNamespace(catalog)
          : domainNamespace(
              catalog,
              w.kind === "tier" ? w.domain : catalog.services[w.service]!.domain,
            ),
        podsName(name),
        port,
      ),
    { routers: true },
  );
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
    ? [workloadPeer(catalog, ns, workloadName.tier(domain), "gateway")]
    : [];
  for (const s of services(catalog).filter((x) => x.domain === domain && x.uses.includes(store))) {
    for (const v of s.versions)
      users.push(workloadPeer(catalog, ns, workloadName.service(s.name, v.name), "service"));
  }
  return users;
}

/** CPU in millicores from the catalog's ECS units (1024 units = one vCPU). */
export function cpuMillis(units: number): number {
  return Math.round((units * 1000) / 1024);
}

/** A service's versions with their workload names. */
export function serviceWorkloads(s: Service): { version: string; name: string }[] {
  return s.versions.map((v) => ({ version: v.name, name: workloadName.service(s.name, v.name) }));
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
