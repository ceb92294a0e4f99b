import type { Workload } from "./catalog/reachability.ts";

// The name every target gives a workload: the ECS service and its Cloud Map label, the Docker
// container group and its network alias, the Kubernetes Deployment and its Services. One name on
// every target, so that a log line, an alarm or a `docker ps` row reads the same everywhere.

export const workloadName = {
  router: "router",
  tier: (domain: string) => `gateway-${domain}`,
  /** `orders` for v1, `orders-v2` for the others: each version runs as a group of its own. */
  service: (service: string, version = "v1") =>
    version === "v1" ? service : `${service}-${version}`,
} as const;

export function nameOf(w: Workload): string {
  return w.kind === "router"
    ? workloadName.router
    : w.kind === "tier"
      ? workloadName.tier(w.domain)
      : workloadName.service(w.service, w.version);
}
