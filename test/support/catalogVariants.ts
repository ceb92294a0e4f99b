import { defaultCatalog } from "../../platform/catalog/default.ts";
import { validateCatalog, type Catalog } from "../../platform/catalog/index.ts";
import type { CatalogInput } from "../../platform/catalog/schema.ts";

/** The default catalog's input with orders' entry changed by `patch`. */
export function withOrders(patch: Partial<CatalogInput["services"][string]>): CatalogInput {
  return {
    ...defaultCatalog,
    services: {
      ...defaultCatalog.services,
      orders: { ...defaultCatalog.services["orders"]!, ...patch },
    },
  };
}

/** The default catalog with orders as a 90/10 canary of v1 and v2, as the stacks' tests deploy it. */
export function ordersCanary(): Catalog {
  return ordersVersions([
    { name: "v1", weight: 90 },
    { name: "v2", weight: 10 },
  ]);
}

/** The default catalog with orders running `versions` (a source, settings, weights). */
export function ordersVersions(versions: CatalogInput["services"][string]["versions"]): Catalog {
  return validateCatalog(withOrders({ versions }));
}

/** The default catalog with one service scaled to `replicas`. */
export function scaled(service: string, replicas: number): Catalog {
  return validateCatalog({
    ...defaultCatalog,
    services: {
      ...defaultCatalog.services,
      [service]: { ...defaultCatalog.services[service]!, replicas },
    },
  });
}
