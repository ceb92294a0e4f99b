import * as pulumi from "@pulumi/pulumi";
import type { DomainData } from "../../components/aws/domainData.ts";
import type { SecretEnv } from "../../components/aws/serviceGroup.ts";
import type { Catalog, Domain, Service, StoreKind } from "../catalog/index.ts";
import { domains, services } from "../catalog/index.ts";
import type { Addresses, DataEndpoints } from "../runtimeEnv.ts";

// Catalog-aware glue between the catalog, the env contract (infra/runtimeEnv.ts) and the AWS
// components: which stores a workload may reach, which secrets it receives, and where its
// peers are.

/**
 * Secrets reach containers as environment variables filled by ECS from Secrets Manager, never
 * as plain task-definition values. `pg` reads PGPASSWORD by itself when DATABASE_URL carries no
 * password; REDIS_PASSWORD is the Redis AUTH token for REDIS_URL.
 */
export const secretEnvKey = {
  databasePassword: "PGPASSWORD",
  redisPassword: "REDIS_PASSWORD",
} as const;

/** Cloud Map DNS label of a domain's gateway tier (services use their own name). */
export function tierDiscoveryName(domain: string): string {
  return `gateway-${domain}`;
}

/**
 * Seconds a process drains on SIGTERM (services/shared/http.ts closes the last connections
 * after 10 s). Target groups wait as long before ECS stops a task, and ECS waits as long again
 * plus a margin before SIGKILL.
 */
export const drainSeconds = 10;

// Canaries on AWS. Each version of a service runs as its own ECS service; the first version
// listed is the base and keeps the plain name. A domain's gateway tier runs one lane per version
// name that any of its services lists beyond its first: lane `v2` is a full set of gateway
// replicas whose upstream for each service is that service's `v2` where it has one, and its
// base version elsewhere. The ALB splits a canaried route between the base lane and the
// version's lane by the catalog's weights, sticky per client, and `x-api-version` pins a lane.

/** The extra lanes of a domain's gateway tier (the base lane is always there). */
export function tierLanes(domain: Domain): string[] {
  return [...new Set(domain.services.flatMap((s) => s.versions.slice(1).map((v) => v.name)))];
}

/** The first listed version of a service: the one that keeps the service's plain name. */
export function baseVersion(service: Service): string {
  return service.versions[0]!.name;
}

/** Cloud Map label of one version of a service. */
export function serviceDiscoveryName(service: Service, version: string): string {
  return version === baseVersion(service) ? service.name : `${service.name}-${version}`;
}

/** Cloud Map label of a gateway tier's lane; `undefined` is the base lane. */
export function laneDiscoveryName(domain: string, lane?: string): string {
  return lane ? `${tierDiscoveryName(domain)}-${lane}` : tierDiscoveryName(domain);
}

/**
 * Every workload's address on AWS as seen from one lane: one Cloud Map name per workload that
 * resolves to all its healthy tasks. In lane `v2` of a domain, its services that have a `v2`
 * resolve to that version.
 */
export function cloudMapAddresses(
  catalog: Catalog,
  namespace: string,
  lane?: { domain: string; version: string },
): Addresses {
  const url = (label: string) => [`http://${label}.${namespace}:${catalog.containerPort}`];
  const label = (s: Service) =>
    lane && s.domain === lane.domain && s.versions.some((v) => v.name === lane.version)
      ? serviceDiscoveryName(s, lane.version)
      : s.name;
  return {
    tiers: Object.fromEntries(
      domains(catalog).map((d) => [d.name, url(tierDiscoveryName(d.name))]),
    ),
    services: Object.fromEntries(services(catalog).map((s) => [s.name, url(label(s))])),
  };
}

/** The version a service runs on AWS: the one that carries the most traffic. */
export function primaryVersion(service: Service): string {
  return [...service.versions].sort((a, b) => b.weight - a.weight)[0]!.name;
}

/** What a workload that uses `stores` gets from its domain's data: endpoints, secrets, access. */
export interface StoreAccess {
  endpoints: pulumi.Output<DataEndpoints>;
  secrets: SecretEnv[];
  memberOfSecurityGroupIds: pulumi.Output<string>[];
  taskPolicyStatements?: pulumi.Output<Record<string, unknown>[]>;
}

export function storeAccess(data: DomainData, stores: ReadonlySet<StoreKind>): StoreAccess {
  const secrets: SecretEnv[] = [];
  const groups: pulumi.Output<string>[] = [];
  if (stores.has("postgres")) {
    secrets.push({
      name: secretEnvKey.databasePassword,
      secretArn: data.databaseSecretArn,
      jsonKey: "password",
    });
    groups.push(data.clientSecurityGroupIds.postgres);
  }
  if (stores.has("redis")) {
    secrets.push({ name: secretEnvKey.redisPassword, secretArn: data.redisAuthSecretArn });
    groups.push(data.clientSecurityGroupIds.redis);
  }
  if (stores.has("kafka")) groups.push(data.clientSecurityGroupIds.kafka);
  const e = data.endpoints;
  return {
    endpoints: pulumi
      .all([e.databaseUrl, e.redisUrl, e.kafkaBrokers])
      .apply(([databaseUrl, redisUrl, kafkaBrokers]) => ({
        databaseUrl: stores.has("postgres") ? databaseUrl : undefined,
        redisUrl: stores.has("redis") ? redisUrl : undefined,
        kafkaBrokers: stores.has("kafka") ? kafkaBrokers : undefined,
      })),
    secrets,
    memberOfSecurityGroupIds: groups,
    taskPolicyStatements: stores.has("kafka") ? data.kafkaClientStatements : undefined,
  };
}

/** A gateway tier uses its domain's Redis (rate limits, cache) and Kafka (dead-letter queue). */
export const gatewayStores: ReadonlySet<StoreKind> = new Set<StoreKind>(["redis", "kafka"]);
