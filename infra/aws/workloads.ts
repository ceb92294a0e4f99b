import * as pulumi from "@pulumi/pulumi";
import type { DomainData } from "../../components/aws/domainData.ts";
import type { SecretEnv } from "../../components/aws/serviceGroup.ts";
import type { Catalog, Service, StoreKind } from "../catalog/index.ts";
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

/** Every workload's address on AWS: one Cloud Map name that resolves to all healthy tasks. */
export function cloudMapAddresses(catalog: Catalog, namespace: string): Addresses {
  const url = (label: string) => [`http://${label}.${namespace}:${catalog.containerPort}`];
  return {
    tiers: Object.fromEntries(
      domains(catalog).map((d) => [d.name, url(tierDiscoveryName(d.name))]),
    ),
    services: Object.fromEntries(services(catalog).map((s) => [s.name, url(s.name)])),
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
