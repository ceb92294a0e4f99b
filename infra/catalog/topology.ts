import type { Catalog, DomainSpec, ServiceSpec, StoreKind } from "./schema.ts";

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

export function domains(catalog: Catalog): Domain[] {
  const all = services(catalog);
  return Object.entries(catalog.domains).map(([name, spec]) => ({
    name,
    ...spec,
    services: all.filter((s) => s.domain === name),
  }));
}

/** The router's rules, in the order they are matched (the catalog forbids overlapping prefixes). */
export function routingRules(catalog: Catalog): RoutingRule[] {
  return services(catalog).flatMap((s) =>
    s.routes.map((prefix) => ({ prefix, domain: s.domain, service: s.name })),
  );
}

/** The rule that owns `path`, or undefined when no service claims it. */
export function matchRoute(rules: readonly RoutingRule[], path: string): RoutingRule | undefined {
  return rules.find((r) => path === r.prefix || path.startsWith(`${r.prefix}/`));
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
