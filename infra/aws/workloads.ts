import * as pulumi from "@pulumi/pulumi";
import type { DomainData } from "../../components/aws/domainData.ts";
import type { SecretEnv } from "../../components/aws/serviceGroup.ts";
import type { Catalog, Service, StoreKind } from "../../platform/catalog/index.ts";
import { services } from "../../platform/catalog/index.ts";
import type { Edge } from "../../platform/catalog/reachability.ts";
import type { Addresses, DataAccess } from "../../platform/runtimeEnv.ts";
import { addressesOf, secretEnvKey } from "../../platform/runtimeEnv.ts";

// Catalog-aware glue between the catalog, the env contract (platform/runtimeEnv.ts) and the AWS
// components: which stores a workload may reach, which secrets it receives, and where its
// peers are.

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

/** What a workload that uses `stores` gets from its domain's data: endpoints, secrets, access. */
export interface StoreAccess {
  endpoints: pulumi.Output<DataAccess>;
  secrets: SecretEnv[];
  memberOfSecurityGroupIds: pulumi.Output<string>[];
  taskPolicyStatements?: pulumi.Output<Record<string, unknown>[]>;
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
  const processes =
    1 +
    services(catalog)
      .filter((s) => s.domain === domain && s.uses.includes("postgres"))
      .reduce((n, s) => n + s.versions.length * s.replicas * maxScaleFactor, 0);
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
 * What a workload needs to reach `stores` of its domain: endpoints, secrets, security groups and
 * task-role statements. A service that uses PostgreSQL signs in as its own role with IAM tokens
 * (`rds-db:connect` for that role only), so it holds no database password at all.
 */
export function storeAccess(
  data: DomainData,
  stores: ReadonlySet<StoreKind>,
  database?: { service: string; databasePoolMax: number },
): StoreAccess {
  const secrets: SecretEnv[] = [];
  const groups: pulumi.Output<string>[] = [];
  const statements: Statements[] = [];
  let databaseUrl: pulumi.Output<string | undefined> = pulumi.output(undefined);
  if (stores.has("postgres")) {
    if (!database) throw new Error("storeAccess: a PostgreSQL client needs its service's role");
    groups.push(data.clientSecurityGroupIds.postgres);
    statements.push(data.databaseConnectStatement(database.service).apply((st) => [st]));
    databaseUrl = data.databaseUrlFor(database.service);
  }
  if (stores.has("redis")) {
    secrets.push({ name: secretEnvKey.redisPassword, secretArn: data.redisAuthSecretArn });
    groups.push(data.clientSecurityGroupIds.redis);
  }
  if (stores.has("kafka")) {
    groups.push(data.clientSecurityGroupIds.kafka);
    statements.push(data.kafkaClientStatements);
  }
  const e = data.endpoints;
  return {
    endpoints: pulumi
      .all([databaseUrl, e.redisUrl, e.kafkaBrokers])
      .apply(([postgresUrl, redisUrl, kafkaBrokers]) => ({
        databaseUrl: postgresUrl,
        redisUrl: stores.has("redis") ? redisUrl : undefined,
        kafkaBrokers: stores.has("kafka") ? kafkaBrokers : undefined,
        // MSK takes only IAM-signed TLS clients (DomainData), so the clients must sign in.
        kafkaAuth: stores.has("kafka") ? ("aws-iam" as const) : undefined,
        databaseCaFile: postgresUrl ? rdsCaBundle.file : undefined,
        databaseAuth: postgresUrl ? ("aws-iam" as const) : undefined,
        databasePoolMax: postgresUrl ? database?.databasePoolMax : undefined,
      })),
    secrets,
    memberOfSecurityGroupIds: groups,
    taskPolicyStatements: joinStatements(statements),
  };
}

type Statements = pulumi.Output<Record<string, unknown>[]>;

/** One task-role statement list from several sources' lists; undefined when there is none. */
export function joinStatements(sets: readonly (Statements | undefined)[]): Statements | undefined {
  const present = sets.filter((set) => set !== undefined);
  return present.length === 0
    ? undefined
    : pulumi.all(present).apply((lists) => lists.flat() as Record<string, unknown>[]);
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
