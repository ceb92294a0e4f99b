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

const mapValues = <T, U>(
  record: Record<string, T>,
  f: (value: T, key: string) => U,
): Record<string, U> =>
  Object.fromEntries(Object.entries(record).map(([key, value]) => [key, f(value, key)]));

/**
 * The catalog without what only the deployer reads: replica counts, cpu and memory, zones, the
 * data stores' instance classes, the router (which is nothing but its size) and the services'
 * upgrade policies. Changing those changes this text for no process, so no process is restarted
 * for them. A process that read a left-out field anyway would see the schema's default: none
 * does (services/ reads routes, versions, traffic, calls and the gateways' resilience).
 * `versionsOf` says whose versions the view keeps: the process views below keep only those the
 * process routes between.
 */
export function runtimeCatalogJson(
  catalog: Catalog,
  versionsOf: (service: string, spec: Catalog["services"][string]) => boolean = () => true,
): string {
  return JSON.stringify({
    name: catalog.name,
    containerPort: catalog.containerPort,
    opsPort: catalog.opsPort,
    defaultDomain: catalog.defaultDomain,
    domains: mapValues(catalog.domains, (d) => ({ gateway: without(d.gateway, SIZING) })),
    services: mapValues(catalog.services, (s, name) =>
      without(s, [...SERVICE_DEPLOYER_ONLY, ...(versionsOf(name, s) ? [] : ["versions"])]),
    ),
  });
}

// Each process is handed the view of the catalog it reads, not the whole of it. A version added
// at weight 0 for an upgrade, or weights written back after one, then change the environment of
// the processes that route that service and of no other: every target replaces a process whose
// environment changed (on Docker, a container is deleted before its successor starts), and an
// upgrade of orders must not restart the identity tier, the router or the chat service.

/** The router sends a path to a tier by route and domain: it reads no service's versions. */
export const routerCatalogJson = (catalog: Catalog) => runtimeCatalogJson(catalog, () => false);

/** A gateway tier splits traffic between the versions of its own domain's services only. */
export const gatewayCatalogJson = (catalog: Catalog, domain: string) =>
  runtimeCatalogJson(catalog, (_, s) => s.domain === domain);

/**
 * A service reads no versions (its own is SERVICE_VERSION, its settings its env), but the
 * api-bridge, whose MCP resource shows callers the catalog's versions and weights.
 */
export const serviceCatalogJson = (catalog: Catalog, service: string) => {
  const bridge = catalog.services[service]?.role === "api-bridge";
  return runtimeCatalogJson(catalog, () => bridge);
};

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
