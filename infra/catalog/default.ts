import type { CatalogInput } from "./schema.ts";

/**
 * The default topology (DESIGN.md): a routing tier in front of two gateway tiers, "identity"
 * (critical: auth, users) and "business" (orders and the rest), each domain with its own
 * PostgreSQL, Redis and Kafka. Adding a service is one entry under `services`.
 */
export const defaultCatalog: CatalogInput = {
  name: "platform",
  zones: 2,
  defaultDomain: "business",
  router: { replicas: 2 },
  domains: {
    identity: { gateway: { replicas: 2, fallback: "cached" } },
    business: { gateway: { replicas: 2, fallback: "degraded" } },
  },
  services: {
    auth: { domain: "identity", routes: ["/v1/auth"], replicas: 2, uses: ["postgres"] },
    orders: {
      domain: "business",
      routes: ["/v1/orders"],
      replicas: 2,
      uses: ["postgres", "kafka"],
      // Reads are cached per caller for 2 s (then served stale up to 60 s while refreshed); a
      // caller's own write invalidates them at once.
      traffic: { cache: { ttlSeconds: 2 } },
    },
  },
};
