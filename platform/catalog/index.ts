import { readFileSync } from "node:fs";
import { defaultCatalog } from "./default.ts";
import { CatalogError, validateCatalog } from "./validate.ts";

export { CatalogError, validateCatalog } from "./validate.ts";
export { callerRoles } from "./schema.ts";
import type { Catalog, CatalogInput } from "./schema.ts";
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

/**
 * A catalog of the operator's own, from a JSON file (`npm start -- --catalog FILE`), validated;
 * an error names the file and the field.
 */
export function readCatalogFile(path: string): Catalog {
  let input: unknown;
  try {
    input = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new CatalogError([`${path}: ${(err as Error).message}`]);
  }
  return validateCatalog(input as CatalogInput);
}
