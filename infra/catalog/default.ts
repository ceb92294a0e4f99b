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
    // The chat flow (docs/chat.md): chat answers the OpenAI-compatible API and calls the model
    // registry and the inference service, which have no public route.
    chat: {
      domain: "business",
      routes: ["/v1/chat", "/v1/models"],
      replicas: 2,
      uses: ["postgres", "redis", "kafka"],
      calls: ["model", "inference"],
      traffic: {
        // A whole (unstreamed) answer comes only once generated; the router waits 30 s for the
        // headers, so the gateway gives up first. A stream may pause between tokens up to idleMs.
        timeouts: { firstByteMs: 25_000, idleMs: 30_000 },
        // A completion costs far more than a read: 60 a minute per key, bursts included.
        rateLimit: {
          perKey: { limit: 60, windowSeconds: 60 },
          perIp: { limit: 600, windowSeconds: 60 },
        },
      },
    },
    model: { domain: "business", routes: [], replicas: 2, uses: ["postgres"] },
    inference: { domain: "business", routes: [], replicas: 2 },
  },
};
