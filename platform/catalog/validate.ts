import type { z } from "zod";
import {
  catalogSchema,
  serviceRoles,
  type Catalog,
  type CatalogInput,
  type ServiceRole,
} from "./schema.ts";

/** Thrown when a catalog is invalid; `problems` holds one message per bad field. */
export class CatalogError extends Error {
  readonly problems: readonly string[];
  constructor(problems: string[]) {
    super(`invalid catalog:\n  - ${problems.join("\n  - ")}`);
    this.name = "CatalogError";
    this.problems = problems;
  }
}

function fieldPath(path: readonly PropertyKey[]): string {
  return ["catalog", ...path.map(String)].join(".");
}

function describe(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => `${fieldPath(issue.path)}: ${issue.message}`);
}

/** Checks that need the whole catalog: references between entries and route ownership. */
function crossCheck(catalog: Catalog): string[] {
  const problems: string[] = [];
  const domains = new Set(Object.keys(catalog.domains));
  if (!domains.has(catalog.defaultDomain)) {
    problems.push(
      `catalog.defaultDomain: unknown domain "${catalog.defaultDomain}" (known: ${[...domains].join(", ")})`,
    );
  }
  const owner = new Map<string, { service: string; domain: string }>();
  for (const [service, spec] of Object.entries(catalog.services)) {
    if (!domains.has(spec.domain)) {
      problems.push(
        `catalog.services.${service}.domain: unknown domain "${spec.domain}" (known: ${[...domains].join(", ")})`,
      );
    }
    spec.routes.forEach((route, i) => {
      const field = `catalog.services.${service}.routes.${i}`;
      const previous = owner.get(route);
      if (!previous) {
        owner.set(route, { service, domain: spec.domain });
      } else if (previous.domain !== spec.domain) {
        problems.push(
          `${field}: route ${route} is owned by two domains (${previous.domain} via ${previous.service}, ${spec.domain} via ${service})`,
        );
      } else {
        problems.push(`${field}: duplicate route ${route} (already served by ${previous.service})`);
      }
    });
  }
  problems.push(...checkCalls(catalog), ...checkRoles(catalog), ...checkQuota(catalog));
  for (const domain of domains) {
    const own = Object.values(catalog.services).filter((s) => s.domain === domain);
    if (own.length === 0) {
      problems.push(
        `catalog.domains.${domain}: has no service; a gateway tier would serve nothing`,
      );
    } else if (own.every((s) => s.routes.length === 0)) {
      problems.push(
        `catalog.domains.${domain}: has no service with a route; a gateway tier would serve nothing`,
      );
    }
  }
  return problems;
}

/**
 * Calls stay inside a domain (its gateway tier is the only way in from outside, and the targets
 * only open a domain's services to each other), reach a callee's v1, and every internal service
 * (no route) has a caller: otherwise nothing could reach it.
 */
function checkCalls(catalog: Catalog): string[] {
  const problems: string[] = [];
  const called = new Set<string>();
  for (const [service, spec] of Object.entries(catalog.services)) {
    spec.calls.forEach((callee, i) => {
      const field = `catalog.services.${service}.calls.${i}`;
      const target = catalog.services[callee];
      called.add(callee);
      if (callee === service) problems.push(`${field}: a service does not call itself`);
      else if (!target) problems.push(`${field}: unknown service "${callee}"`);
      else if (target.domain !== spec.domain) {
        problems.push(
          `${field}: ${callee} is in domain ${target.domain}, not ${spec.domain}; reach another domain through its gateway tier`,
        );
      } else if (!target.versions.some((v) => v.name === "v1")) {
        problems.push(`${field}: ${callee} runs no v1, the version its callers reach`);
      }
    });
  }
  for (const [service, spec] of Object.entries(catalog.services)) {
    if (spec.routes.length === 0 && !called.has(service)) {
      problems.push(
        `catalog.services.${service}.routes: an internal service (no route) needs a caller in its domain's calls`,
      );
    }
  }
  return problems;
}

/** The roles whose service a gateway tier serves to other domains under `/internal/<role>/*`. */
export const TIER_SERVED_ROLES: readonly ServiceRole[] = ["quota"];

/** One service per role, and the one that verifies API keys, which every tier needs. */
function checkRoles(catalog: Catalog): string[] {
  const problems: string[] = [];
  for (const role of serviceRoles) {
    const playing = Object.keys(catalog.services).filter((s) => catalog.services[s]!.role === role);
    if (playing.length > 1)
      problems.push(
        `catalog.services.${playing[1]}.role: "${role}" is ${playing[0]}'s already; one service per role`,
      );
  }
  if (!Object.values(catalog.services).some((s) => s.role === "api-keys"))
    problems.push('catalog.services: one service needs role "api-keys", to verify API keys');
  return problems;
}

/**
 * Cross-domain calls go through the callee's tier, which serves only the internal APIs it knows
 * (services/gateway/quota.ts); routes that turn the quota step on need the quota service.
 */
function checkQuota(catalog: Catalog): string[] {
  const problems: string[] = [];
  const quotaRole = Object.values(catalog.services).some((s) => s.role === "quota");
  for (const [service, spec] of Object.entries(catalog.services)) {
    spec.tierCalls.forEach((callee, i) => {
      const field = `catalog.services.${service}.tierCalls.${i}`;
      const target = catalog.services[callee];
      if (!target) problems.push(`${field}: unknown service "${callee}"`);
      else if (target.domain === spec.domain)
        problems.push(`${field}: ${callee} is in the same domain; list it under calls`);
      else if (!target.role || !TIER_SERVED_ROLES.includes(target.role))
        problems.push(
          `${field}: a gateway tier serves only the service of role ${TIER_SERVED_ROLES.join(", ")} to other domains`,
        );
      else if (!target.versions.some((v) => v.name === "v1"))
        problems.push(`${field}: ${callee} runs no v1, the version its callers reach`);
    });
    if (spec.traffic.quota && !quotaRole) {
      problems.push(
        `catalog.services.${service}.traffic.quota: the quota step needs a service of role "quota" in the catalog`,
      );
    }
  }
  return problems;
}

/** Parses, fills defaults and cross-checks a catalog; throws a CatalogError naming every bad field. */
export function validateCatalog(input: CatalogInput): Catalog {
  const parsed = catalogSchema.safeParse(input);
  if (!parsed.success) throw new CatalogError(describe(parsed.error.issues));
  const problems = crossCheck(parsed.data);
  if (problems.length > 0) throw new CatalogError(problems);
  return parsed.data;
}
