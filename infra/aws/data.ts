import type * as pulumi from "@pulumi/pulumi";
import type { DomainDataArgs } from "../../components/aws/domainData.ts";
import { services, type Catalog, type Domain } from "../../platform/catalog/index.ts";
import type { StackSettings } from "../stackConfig.ts";

/** What the stack knows when it provisions a domain's data stores. */
export interface DataPlacement {
  vpcId: pulumi.Input<string>;
  vpcCidrBlock: pulumi.Input<string>;
  /** Isolated subnets, one per zone. */
  subnetIds: pulumi.Input<string>[];
  /** The stack's token override; unset, each domain generates its own. */
  redisAuthToken?: pulumi.Input<string>;
  tags: Record<string, string>;
}

/** A domain's data stores, sized by the catalog and placed by the stack. */
export function domainDataArgs(
  catalog: Catalog,
  domain: Domain,
  at: DataPlacement,
  settings: StackSettings,
): DomainDataArgs {
  return {
    vpcId: at.vpcId,
    vpcCidrBlock: at.vpcCidrBlock,
    subnetIds: at.subnetIds,
    databaseRoles: services(catalog)
      .filter((s) => s.domain === domain.name && s.uses.includes("postgres"))
      .map((s) => s.name),
    postgres: domain.data.postgres,
    redis: domain.data.redis,
    kafka: { mode: settings.kafka, ...domain.data.kafka },
    redisAuthToken: at.redisAuthToken,
    multiAzDatabase: settings.multiAzDatabase,
    logRetentionDays: settings.logRetentionDays,
    deletionProtection: settings.deletionProtection,
    tags: { ...at.tags, domain: domain.name },
  };
}
