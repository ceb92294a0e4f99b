import type { Catalog } from "../../platform/catalog/schema.ts";
import { domains } from "../../platform/catalog/topology.ts";
import { envKey, fields } from "./config.ts";
import { ReplicaSet } from "./upstream.ts";

// What the programs that send to every gateway tier (the router and the bridges of `callerRoles`) share: each
// domain's replica URLs from TIER_<DOMAIN>, and a replica set per tier.

/** The loadEnv fields and variable names of every tier's replica URLs, keyed by domain. */
export function tierEnv(catalog: Catalog) {
  return {
    fields: Object.fromEntries(domains(catalog).map((d) => [d.name, fields.urls])),
    keys: Object.fromEntries(domains(catalog).map((d) => [d.name, envKey.tier(d.name)])),
  };
}

/** A replica set per domain's tier, checked every `healthIntervalMs`; `program` names the caller. */
export function tierSets(
  catalog: Catalog,
  tiers: Record<string, string[]>,
  program: string,
  healthIntervalMs: number,
): Map<string, ReplicaSet> {
  return new Map(
    domains(catalog).map((d) => {
      const urls = tiers[d.name];
      if (!urls?.length)
        throw new Error(`${program}: no replica URL for the ${d.name} gateway tier`);
      return [d.name, new ReplicaSet(`${d.name}-gateway`, urls, { healthIntervalMs })];
    }),
  );
}
