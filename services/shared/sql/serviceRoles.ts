import type pg from "pg";

// One PostgreSQL role per service, which owns that service's schema and nothing else (issue #14,
// B5): a service's credentials read and write its own tables only, and the master user is left to
// this bootstrap. On AWS the roles sign in with IAM tokens (`rds_iam`, `rds-db:connect` on the
// task role), so no service password exists anywhere; the bootstrap runs as a Lambda function at
// each `pulumi up` (components/aws/databaseRoles.ts).

/** A service's role and schema, both named after the service (services/shared/sql/postgres.ts). */
export interface ServiceRole {
  service: string;
}

/** What `ensureServiceRoles` changed, for the deploy's log. */
export interface RolesReport {
  created: string[];
  /** Objects of a schema that another role (the master, before B5) had created, now the service's. */
  reowned: string[];
}

const NAME = /^[a-z][a-z0-9_-]{0,62}$/;

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Creates each service's login role and schema if missing, and makes the role the owner of its
 * schema and of everything in it; the role may connect to this database and reach no other
 * service's schema. `iamRole` (RDS's `rds_iam`) is granted when the server has it, so that the
 * role signs in with IAM tokens instead of a password. Idempotent: run it at every deploy.
 */
export async function ensureServiceRoles(
  client: pg.ClientBase,
  roles: readonly ServiceRole[],
  iamRole = "rds_iam",
): Promise<RolesReport> {
  for (const { service } of roles)
    if (!NAME.test(service)) throw new Error(`service roles: "${service}" is not a role name`);
  const report: RolesReport = { created: [], reowned: [] };
  const [{ database, me }] = (
    await client.query<{ database: string; me: string }>(
      "SELECT current_database() AS database, current_user AS me",
    )
  ).rows as [{ database: string; me: string }];
  const hasIamRole =
    (await client.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [iamRole])).rowCount === 1;
  // No role but the owner's (and those granted below) may connect to the platform's database.
  await client.query(`REVOKE CONNECT, TEMPORARY ON DATABASE ${quoteIdent(database)} FROM PUBLIC`);
  for (const { service } of roles) {
    const role = quoteIdent(service);
    const exists =
      (await client.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [service])).rowCount === 1;
    if (!exists) {
      // No CREATEDB or CREATEROLE: the role is its own schema's owner and no more.
      await client.query(`CREATE ROLE ${role} LOGIN`);
      report.created.push(service);
    }
    // RDS's master is no superuser: to hand objects to the role it must be a member of it.
    await client.query(`GRANT ${role} TO ${quoteIdent(me)}`);
    if (hasIamRole) await client.query(`GRANT ${quoteIdent(iamRole)} TO ${role}`);
    await client.query(`GRANT CONNECT ON DATABASE ${quoteIdent(database)} TO ${role}`);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${role} AUTHORIZATION ${role}`);
    await client.query(`ALTER SCHEMA ${role} OWNER TO ${role}`);
    // Tables, sequences and views that the master made while services still connected as it.
    const foreign = await client.query<{ name: string; kind: string }>(
      `SELECT c.relname AS name, c.relkind AS kind FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
          AND pg_get_userbyid(c.relowner) <> $1
          -- A sequence owned by a column moves with its table.
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i'))`,
      [service],
    );
    for (const { name, kind } of foreign.rows) {
      const what =
        kind === "S"
          ? "SEQUENCE"
          : kind === "v"
            ? "VIEW"
            : kind === "m"
              ? "MATERIALIZED VIEW"
              : "TABLE";
      await client.query(`ALTER ${what} ${role}.${quoteIdent(name)} OWNER TO ${role}`);
      report.reowned.push(`${service}.${name}`);
    }
  }
  return report;
}
