import type { Catalog, DomainSpec, ServiceRole, ServiceSpec, StoreKind } from "./schema.ts";

// Views derived from the catalog. Every target (AWS, Docker, Kubernetes, the local runner, the
// router) reads these instead of re-deriving them, so a fact is computed in one place.

export interface RoutingRule {
  /** `/v1/orders`; matches the prefix itself and everything below it. */
  prefix: string;
  domain: string;
  service: string;
}

export interface Domain extends DomainSpec {
  name: string;
  services: Service[];
}

export interface Service extends ServiceSpec {
  name: string;
}

export function services(catalog: Catalog): Service[] {
  return Object.entries(catalog.services).map(([name, spec]) => ({ name, ...spec }));
}

/** The service that plays `role` (catalog `role`), if one does; validation allows one at most. */
export function serviceWithRole(catalog: Catalog, role: ServiceRole): Service | undefined {
  return services(catalog).find((s) => s.role === role);
}

/** The service that verifies API keys: the catalog must have one (validation says so). */
export function keyService(catalog: Catalog): Service {
  const found = serviceWithRole(catalog, "api-keys");
  if (!found) throw new Error('catalog.services: no service has role "api-keys"');
  return found;
}

export function domains(catalog: Catalog): Domain[] {
  const all = services(catalog);
  return Object.entries(catalog.domains).map(([name, spec]) => ({
    name,
    ...spec,
    services: all.filter((s) => s.domain === name),
  }));
}

/**
 * The PostgreSQL connection pools a domain's processes hold with `scale` times the catalog's
 * replicas: one per replica of every version of each service that uses it, and two for the
 * workflow engine's (pg-boss holds a pool beside the service's own). What each target sizes the
 * server, or the pools, by.
 */
export function postgresPools(catalog: Catalog, domain: string, scale = 1): number {
  return services(catalog)
    .filter((s) => s.domain === domain && s.uses.includes("postgres"))
    .reduce(
      (n, s) => n + s.versions.length * s.replicas * scale * (s.role === "automation" ? 2 : 1),
      0,
    );
}

/** The router's rules, in the order they are matched (the catalog forbids overlapping prefixes). */
export function routingRules(catalog: Catalog): RoutingRule[] {
  return services(catalog).flatMap((s) =>
    s.routes.map((prefix) => ({ prefix, domain: s.domain, service: s.name })),
  );
}

const routeIndexes = new WeakMap<readonly RoutingRule[], Map<string, RoutingRule>>();

/** The rules by prefix, made once per rules array. */
function routeIndex(rules: readonly RoutingRule[]): Map<string, RoutingRule> {
  let index = routeIndexes.get(rules);
  if (!index) {
    const odd = rules.find((r) => !/^\/v1\/[^/]+$/.test(r.prefix));
    if (odd) throw new Error(`route prefix ${odd.prefix} is not /v1/<segment>`);
    index = new Map(rules.map((r) => [r.prefix, r]));
    routeIndexes.set(rules, index);
  }
  return index;
}

/**
 * The rule that owns `path`, or undefined when no service claims it. A prefix is one segment
 * under /v1 (the catalog's schema), so a path's owner is found by its first two segments in a
 * map: the router and every gateway call this once per request, at the same cost for 10 routes
 * or 1 000 (`npm run bench:route-match`).
 */
export function matchRoute(rules: readonly RoutingRule[], path: string): RoutingRule | undefined {
  if (!path.startsWith("/v1/")) return undefined;
  const end = path.indexOf("/", 4);
  return routeIndex(rules).get(end === -1 ? path : path.slice(0, end));
}

/** Data stores a domain's services use, so that unused ones get no access rules. */
export function storesUsed(domain: Domain): Set<StoreKind> {
  return new Set(domain.services.flatMap((s) => s.uses));
}

/** The services that call `service` (their `calls` name it), for the rules that let them in. */
export function callersOf(catalog: Catalog, service: string): Service[] {
  return services(catalog).filter((s) => s.calls.includes(service));
}

/**
 * What every hop in front of the gateways (the router, an ALB, an ingress) must let through: the
 * largest body and the longest upstream silence (time to first byte, or a stream's pause between
 * chunks) of any routed service. Tighter limits there would refuse or cut what the gateway allows.
 */
export function edgeLimits(catalog: Catalog): { maxBodyBytes: number; longestSilenceMs: number } {
  // Validation gives every domain a routed service, so the list is never empty.
  const traffic = services(catalog)
    .filter((s) => s.routes.length > 0)
    .map((s) => s.traffic);
  return {
    maxBodyBytes: Math.max(...traffic.map((t) => t.maxBodyBytes)),
    longestSilenceMs: Math.max(
      ...traffic.map((t) => Math.max(t.timeouts.firstByteMs, t.timeouts.idleMs)),
    ),
  };
}

/** A gateway tier uses its domain's Redis (rate limits, cache) and Kafka (dead-letter queue). */
export const gatewayStores: ReadonlySet<StoreKind> = new Set<StoreKind>(["redis", "kafka"]);
