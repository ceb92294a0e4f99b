import type { Catalog, Service } from "../../platform/catalog/index.ts";
import { postgresPools } from "../../platform/catalog/index.ts";
import type { Edge } from "../../platform/catalog/reachability.ts";
import type { Addresses } from "../../platform/runtimeEnv.ts";
import { addressesOf } from "../../platform/runtimeEnv.ts";

// What the AWS plan (infra/aws/plan.ts) knows beyond the catalog: where peers are, how long a
// task drains, how many connections each PostgreSQL client may pool, the pinned build inputs.

/**
 * Seconds a process drains on SIGTERM (services/shared/http.ts closes the last connections
 * after 10 s). Target groups wait as long before ECS stops a task, and ECS waits as long again
 * plus a margin before SIGKILL.
 */
export const drainSeconds = 10;

// Canaries on AWS are per service. Each version a service lists runs as its own ECS service
// with its own Cloud Map name (`orders`, `orders-v2`), and every gateway replica knows every
// version's address: the gateway's version router splits traffic by the catalog's weights,
// keeps a user on one version and honours the `x-api-version` pin. The ALB sees gateway tiers
// only, so it routes by path; a weighted split there would need a whole gateway tier per version.

/**
 * Every workload's address on AWS: its Cloud Map name, which answers with one A record per
 * healthy task (monitoring resolves it each round). The ALB is the routing tier here: it has no
 * replicas to scrape.
 */
export function cloudMapAddresses(catalog: Catalog, namespace: string): Addresses {
  return addressesOf(catalog, (_, name, port) => `http://${name}.${namespace}:${port}`, {
    routers: false,
  });
}

/** The version a service runs on AWS: the one that carries the most traffic. */
export function primaryVersion(service: Service): string {
  return [...service.versions].sort((a, b) => b.weight - a.weight)[0]!.name;
}

/**
 * The CAs that sign RDS certificates in every region, fetched into the image at build time (the
 * Dockerfile's RDS_CA_BUNDLE_URL writes `file`): `pg` verifies the server (sslmode=require), and
 * Node's own trust store does not hold Amazon's RDS CAs. The build refuses any other bundle than
 * the one of `sha256`: when AWS publishes a new one, review it and update the checksum.
 * https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL.html
 */
export const rdsCaBundle = {
  url: "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem",
  sha256: "e5bb2084ccf45087bda1c9bffdea0eb15ee67f0b91646106e466714f9de3c7e3",
  file: "/etc/ssl/rds/ca-bundle.pem",
} as const;

/**
 * The official Node 24 image the AWS build starts from, pinned by digest (the Dockerfile's
 * NODE_IMAGE default is the same): a tag moves, and an image that changed under the same tag
 * would deploy unreviewed.
 */
export const nodeBaseImage =
  "node:24-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d";

/** GiB of memory of an RDS instance size (`db.<family>.<size>`), for its connection limit. */
const RDS_SIZE_GIB: Record<string, number> = {
  micro: 1,
  small: 2,
  medium: 4,
  large: 8,
  xlarge: 16,
  "2xlarge": 32,
  "4xlarge": 64,
  "8xlarge": 128,
  "12xlarge": 192,
  "16xlarge": 256,
  "24xlarge": 384,
};

/**
 * How many connections each process of a domain may pool, so that every PostgreSQL client of the
 * domain at full scale-out (each version's replicas times `maxScaleFactor`, plus one one-off task)
 * fits RDS's default `max_connections`, LEAST(DBInstanceClassMemory / 9531392, 5000), less the
 * connections RDS and its superusers keep. The instance's usable memory is taken as 70% of its
 * class's. Between 2 (a transaction and a query beside it) and 10 (the services' default);
 * `short` says the floor of 2 does not fit, which `pulumi up` reports.
 */
export function databasePool(
  catalog: Catalog,
  domain: string,
  maxScaleFactor: number,
): { poolMax: number; processes: number; maxConnections: number; short: boolean } {
  const instanceClass = catalog.domains[domain]!.data.postgres.instanceClass;
  const gib = RDS_SIZE_GIB[instanceClass.split(".").at(-1) ?? ""];
  if (gib === undefined)
    throw new Error(
      `catalog.domains.${domain}.data.postgres.instanceClass: unknown size in "${instanceClass}" (expected db.<family>.<${Object.keys(RDS_SIZE_GIB).join("|")}>)`,
    );
  const maxConnections = Math.min(Math.floor((gib * 2 ** 30 * 0.7) / 9_531_392), 5000);
  // Every pool at full scale-out, and the one-off task's.
  const processes = 1 + postgresPools(catalog, domain, maxScaleFactor);
  const budget = maxConnections - 8;
  const fair = Math.floor(budget / processes);
  return {
    poolMax: Math.min(10, Math.max(2, fair)),
    processes,
    maxConnections,
    short: fair < 2,
  };
}

/**
 * The logical name (after the stack's prefix) and description of the security-group rule that
 * opens one connection of the reachability statement between `source` and `target` (their
 * Cloud Map labels, `gw-<domain>` for a tier).
 */
export function ingressRuleOf(
  catalog: Catalog,
  edge: Edge,
  source: string,
  target: string,
): { name: string; description: string } {
  const { from, to, reasons } = edge;
  if (from.kind === "tier" && to.kind === "tier") {
    const asks = [
      reasons.includes("verifies-keys") ? "verifies keys" : "",
      reasons.includes("checks-quotas") ? "checks quotas" : "",
    ]
      .filter(Boolean)
      .join(" and ");
    return {
      name: `${source}-to-${to.domain}`,
      description: `${from.domain} tier ${asks} through the ${to.domain} tier`,
    };
  }
  if (reasons[0] === "scrapes")
    return { name: `${source}-scrapes-${target}`, description: `${source} scrapes ${target}` };
  if (reasons[0] === "tier-calls" && from.kind === "service" && to.kind === "tier") {
    const callee = catalog.services[from.service]!.tierCalls.find(
      (c) => catalog.services[c]!.domain === to.domain,
    );
    return {
      name: `${source}-to-${target}`,
      description: `${source} calls ${callee} through the ${to.domain} tier`,
    };
  }
  return { name: `${source}-to-${target}`, description: `${source} calls ${target}` };
}
