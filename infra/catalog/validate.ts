import type { z } from "zod";
import { catalogSchema, type Catalog, type CatalogInput } from "./schema.ts";

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
  for (const domain of domains) {
    if (!Object.values(catalog.services).some((s) => s.domain === domain)) {
      problems.push(
        `catalog.domains.${domain}: has no service; a gateway tier would serve nothing`,
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
