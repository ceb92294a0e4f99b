import { defaultCatalog } from "./default.ts";
import { validateCatalog } from "./validate.ts";

export { CatalogError, validateCatalog } from "./validate.ts";
export { callerRoles } from "./schema.ts";
export type {
  Catalog,
  CatalogInput,
  DomainSpec,
  ServiceRole,
  ServiceSpec,
  StoreKind,
} from "./schema.ts";
export * from "./topology.ts";

/** The validated default catalog: importing this module fails loudly if the catalog is wrong. */
export const catalog = validateCatalog(defaultCatalog);
