import { Counter, Gauge, type Registry } from "prom-client";

/** The gateway's own decisions, each counted so that an operator sees what the chain did. */
export function gatewayMetrics(registry: Registry) {
  return {
    breakerState: new Gauge({
      name: "gateway_breaker_state",
      help: "Circuit breaker per upstream: 0 closed, 1 open, 2 half-open, 3 isolated",
      labelNames: ["upstream"] as const,
      registers: [registry],
    }),
    breakerOpened: new Counter({
      name: "gateway_breaker_opened_total",
      help: "Times a breaker opened",
      labelNames: ["upstream"] as const,
      registers: [registry],
    }),
    retries: new Counter({
      name: "gateway_retries_total",
      help: "Retries after a failed attempt, and those the retry budget refused",
      labelNames: ["upstream", "outcome"] as const,
      registers: [registry],
    }),
    fallbacks: new Counter({
      name: "gateway_fallback_total",
      help: "Answers given by a fallback instead of the service, by kind",
      labelNames: ["upstream", "kind"] as const,
      registers: [registry],
    }),
    replicaHealthy: new Gauge({
      name: "gateway_upstream_replica_healthy",
      help: "1 when a replica passes its health checks and is not ejected",
      labelNames: ["upstream", "replica"] as const,
      registers: [registry],
    }),
    ejections: new Counter({
      name: "gateway_upstream_ejections_total",
      help: "Replicas taken out of rotation by outlier detection or refused connections",
      labelNames: ["upstream"] as const,
      registers: [registry],
    }),
  };
}

export type GatewayMetrics = ReturnType<typeof gatewayMetrics>;
