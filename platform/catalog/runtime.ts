import type { Catalog } from "./schema.ts";
import { validateCatalog } from "./validate.ts";

// The catalog as the processes read it. The deploy targets hand every process the catalog in its
// environment (PLATFORM_CATALOG) instead of baking the catalog file into the one services image:
// an image that carried the file would be rebuilt by any catalog edit, and every container,
// pod and task of the stack replaced with it, when an operator only asked for a third replica.

/** The environment variable that carries the runtime view of the catalog, as JSON. */
export const CATALOG_ENV = "PLATFORM_CATALOG";

/** Fields that say how big a group is, not what it does: no process reads them. */
const SIZING = ["replicas", "cpu", "memory"];
/** A service's own: its size, and how the Upgrade Manager (an operator's tool) moves it. */
const SERVICE_DEPLOYER_ONLY = [...SIZING, "upgrade"];

function without<T extends object>(spec: T, fields: readonly string[]): Partial<T> {
  const copy: Partial<T> = { ...spec };
  for (const field of fields) delete (copy as Record<string, unknown>)[field];
  return copy;
}

const mapValues = <T, U>(record: Record<string, T>, f: (value: T) => U): Record<string, U> =>
  Object.fromEntries(Object.entries(record).map(([key, value]) => [key, f(value)]));

/**
 * The catalog without what only the deployer reads: replica counts, cpu and memory, zones, the
 * data stores' instance classes, the router (which is nothing but its size) and the services'
 * upgrade policies. Changing those
 * changes this text for no process, so no process is restarted for them. A process that read a
 * left-out field anyway would see the schema's default: none does (services/ reads routes,
 * versions, traffic, calls and the gateways' resilience). `omit` leaves out more of each
 * service, for a process that does not read it (routerCatalogJson).
 */
export function runtimeCatalogJson(catalog: Catalog, omit: readonly string[] = []): string {
  return JSON.stringify({
    name: catalog.name,
    containerPort: catalog.containerPort,
    opsPort: catalog.opsPort,
    defaultDomain: catalog.defaultDomain,
    domains: mapValues(catalog.domains, (d) => ({ gateway: without(d.gateway, SIZING) })),
    services: mapValues(catalog.services, (s) => without(s, [...SERVICE_DEPLOYER_ONLY, ...omit])),
  });
}

/**
 * The router's view: without the services' versions, which it never reads (it sends a path to a
 * tier by route and domain). A version added at weight 0 for an upgrade, or weights written back
 * after one, then leave the router's containers as they are: on Docker a new router replica could
 * not take the host port the old one holds, and the public edge would go down for the update.
 */
export const routerCatalogJson = (catalog: Catalog) => runtimeCatalogJson(catalog, ["versions"]);

/**
 * The catalog a process runs with: the deploy target's PLATFORM_CATALOG, or, where none is set
 * (`npm start`, the tests, a developer's shell), the source tree's default catalog. The services
 * image does not carry the default, so a container started without the variable stops here with
 * a sentence instead of running a catalog its deployer never saw.
 */
export async function loadRuntimeCatalog(
  env: Record<string, string | undefined> = process.env,
): Promise<Catalog> {
  const text = env[CATALOG_ENV];
  if (text === undefined || text === "") {
    try {
      const { defaultCatalog } = await import("./default.ts");
      return validateCatalog(defaultCatalog);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ERR_MODULE_NOT_FOUND") throw err;
      throw new Error(
        `${CATALOG_ENV} is not set, and this build carries no default catalog: the deploy target passes the catalog to every process (platform/runtimeEnv.ts)`,
        { cause: err },
      );
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`${CATALOG_ENV}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  return validateCatalog(parsed as Parameters<typeof validateCatalog>[0]);
}
