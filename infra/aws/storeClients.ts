import * as pulumi from "@pulumi/pulumi";
import type { DomainData } from "../../components/aws/domainData.ts";
import type { StoreKind } from "../../platform/catalog/index.ts";

// What being a client of a domain's stores takes once they exist (the plan, infra/aws/plan.ts,
// says which stores; their endpoints and the Redis secret reach the env through the stack).

type Statements = pulumi.Output<Record<string, unknown>[]>;

/**
 * The security groups the stores admit and the task-role statements a client of `stores` needs.
 * A service that uses PostgreSQL signs in as its own role with IAM tokens (`rds-db:connect` for
 * that role only), so it holds no database password at all.
 */
export function storeClient(
  data: DomainData,
  stores: readonly StoreKind[],
  service?: string,
): { memberOfSecurityGroupIds: pulumi.Output<string>[]; taskPolicyStatements?: Statements } {
  const groups: pulumi.Output<string>[] = [];
  const statements: Statements[] = [];
  if (stores.includes("postgres")) {
    if (!service) throw new Error("storeClient: a PostgreSQL client needs its service's role");
    groups.push(data.clientSecurityGroupIds.postgres);
    statements.push(data.databaseConnectStatement(service).apply((st) => [st]));
  }
  if (stores.includes("redis")) groups.push(data.clientSecurityGroupIds.redis);
  if (stores.includes("kafka")) {
    groups.push(data.clientSecurityGroupIds.kafka);
    statements.push(data.kafkaClientStatements);
  }
  return { memberOfSecurityGroupIds: groups, taskPolicyStatements: joinStatements(statements) };
}

/** One task-role statement list from several sources' lists; undefined when there is none. */
export function joinStatements(sets: readonly (Statements | undefined)[]): Statements | undefined {
  const present = sets.filter((set) => set !== undefined);
  return present.length === 0
    ? undefined
    : pulumi.all(present).apply((lists) => lists.flat() as Record<string, unknown>[]);
}
