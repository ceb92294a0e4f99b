import { callerRoles, type Catalog } from "./schema.ts";
import { domains, keyService, serviceWithRole, services } from "./topology.ts";

// Who may open a connection to whom, for every target: the one statement of it. AWS security
// groups (stacks/aws.ts), Kubernetes network policies (stacks/kubernetes.ts) and the env contract
// (platform/runtimeEnv.ts, which hands each workload the addresses of exactly these peers) follow it,
// and test/reachability.test.ts checks that the AWS and Kubernetes graphs realise it, no more.

/** A group of processes: the routing tier, a domain's gateway tier, or one version of a service. */
export type Workload =
  | { kind: "router" }
  | { kind: "tier"; domain: string }
  | { kind: "service"; service: string; version: string };

/** Why a connection is allowed, for rule descriptions and reviews. */
export type Reason =
  | "routes" // the router sends a domain's paths to its tier
  | "proxies" // a tier forwards to its domain's services
  | "verifies-keys" // a tier asks the tier of the api-keys service
  | "checks-quotas" // a tier asks the tier of the quota service
  | "calls" // catalog `calls`: a service reaches a callee's v1
  | "tier-calls" // catalog `tierCalls`: a service reaches another domain's tier
  | "scrapes" // the monitoring service reads every replica's health and metrics
  | "bridges"; // the api-bridge and automation services call each route through its domain's tier

export interface Edge {
  from: Workload;
  to: Workload;
  /** `ops`: the router's ops port (catalog `opsPort`); otherwise the container port. */
  port: "container" | "ops";
  /** Every reason for this connection (a tier may both verify keys and check quotas). */
  reasons: Reason[];
}

/** A stable name for a workload, e.g. `router`, `tier:identity`, `service:orders@v2`. */
export function workloadKey(w: Workload): string {
  return w.kind === "router"
    ? "router"
    : w.kind === "tier"
      ? `tier:${w.domain}`
      : `service:${w.service}@${w.version}`;
}

/** Every connection the platform needs, one edge per (from, to, port), in a stable order. */
export function reachability(catalog: Catalog): Edge[] {
  const edges = new Map<string, Edge>();
  const allow = (
    from: Workload,
    to: Workload,
    reason: Reason,
    port: Edge["port"] = "container",
  ) => {
    const key = `${workloadKey(from)} -> ${workloadKey(to)} :${port}`;
    const edge = edges.get(key);
    if (edge) edge.reasons.push(reason);
    else edges.set(key, { from, to, port, reasons: [reason] });
  };
  const tier = (domain: string): Workload => ({ kind: "tier", domain });
  const versions = (service: string): Workload[] =>
    catalog.services[service]!.versions.map((v) => ({
      kind: "service",
      service,
      version: v.name,
    }));
  const v1 = (service: string): Workload => ({ kind: "service", service, version: "v1" });

  for (const d of domains(catalog)) allow({ kind: "router" }, tier(d.name), "routes");
  for (const s of services(catalog))
    for (const w of versions(s.name)) allow(tier(s.domain), w, "proxies");
  // The other tiers verify keys (and check quotas) at the tier that hosts that service.
  const keys = keyService(catalog);
  const quota = serviceWithRole(catalog, "quota");
  for (const d of domains(catalog)) {
    if (d.name !== keys.domain) allow(tier(d.name), tier(keys.domain), "verifies-keys");
    if (quota && d.name !== quota.domain) allow(tier(d.name), tier(quota.domain), "checks-quotas");
  }
  for (const s of services(catalog)) {
    for (const from of versions(s.name)) {
      for (const callee of s.calls) allow(from, v1(callee), "calls");
      for (const callee of s.tierCalls)
        allow(from, tier(catalog.services[callee]!.domain), "tier-calls");
    }
  }
  const monitoring = serviceWithRole(catalog, "monitoring");
  for (const from of monitoring ? versions(monitoring.name) : []) {
    allow(from, { kind: "router" }, "scrapes", "ops");
    for (const d of domains(catalog)) allow(from, tier(d.name), "scrapes");
    for (const s of services(catalog))
      for (const to of versions(s.name)) allow(from, to, "scrapes");
  }
  for (const bridge of services(catalog).filter((s) => callerRoles.has(s.role)))
    for (const from of versions(bridge.name))
      for (const d of domains(catalog)) allow(from, tier(d.name), "bridges");
  return [...edges.values()];
}
