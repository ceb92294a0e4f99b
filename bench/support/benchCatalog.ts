// The catalog the load benches run their processes with: the default one, but with every route's
// rate limits far above what any path can carry here. A bench measures the hops, not the limiter:
// when a faster gateway spent a key's or an address's allowance mid-run, its answers turned 429
// and the run was invalid. The limiter still runs and still counts every request (its cost is
// part of the hop), it only never refuses; the rate-limit drill keeps the real limits.
import { catalog } from "../../platform/catalog/index.ts";
import { runtimeCatalogJson } from "../../platform/catalog/runtime.ts";
import type { Catalog } from "../../platform/catalog/schema.ts";

/** Per key and per address, per minute: the most the catalog allows, more than a whole bench sends. */
const BENCH_LIMIT = { limit: 1_000_000, windowSeconds: 60 };

export function benchCatalog(base: Catalog = catalog): Catalog {
  const services = Object.fromEntries(
    Object.entries(base.services).map(([name, s]) => [
      name,
      { ...s, traffic: { ...s.traffic, rateLimit: { perKey: BENCH_LIMIT, perIp: BENCH_LIMIT } } },
    ]),
  );
  return { ...base, services };
}

/** The bench catalog as every process reads it (PLATFORM_CATALOG). */
export function benchCatalogJson(): string {
  return runtimeCatalogJson(benchCatalog());
}
