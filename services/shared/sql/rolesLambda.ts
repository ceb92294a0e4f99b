import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import pg from "pg";
import { readSecretField, secretsClient } from "../awsSecrets.ts";
import { ensureServiceRoles, type RolesReport } from "./serviceRoles.ts";

// The Lambda function that makes one PostgreSQL role per service on a domain's RDS instance, as
// its master user (components/aws/databaseRoles.ts invokes it at each `pulumi up`, before the
// services' tasks start). It is the only reader of the master secret: no task has it.

/** What the stack sends: the roles to ensure, one per service of the domain that uses PostgreSQL. */
export interface RolesEvent {
  services: string[];
}

/** The function's environment (components/aws/databaseRoles.ts sets it). */
export const rolesLambdaEnv = {
  masterSecretArn: "MASTER_SECRET_ARN",
  host: "DATABASE_HOST",
  port: "DATABASE_PORT",
  database: "DATABASE_NAME",
  /** RDS's CA bundle, beside this file in the package, and its pinned SHA-256. */
  caFile: "DATABASE_CA_FILE",
  caSha256: "DATABASE_CA_SHA256",
} as const;

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

export async function handler(event: RolesEvent): Promise<RolesReport> {
  if (
    !Array.isArray(event?.services) ||
    !event.services.every((s): s is string => typeof s === "string")
  )
    throw new Error('the event must be {"services": ["<service>", ...]}');
  const ca = readFileSync(env(rolesLambdaEnv.caFile));
  // The bundle is fetched at deploy time; what it trusts must be what the image build trusts.
  if (createHash("sha256").update(ca).digest("hex") !== env(rolesLambdaEnv.caSha256))
    throw new Error(`${rolesLambdaEnv.caFile}: not the pinned RDS CA bundle`);
  const secretArn = env(rolesLambdaEnv.masterSecretArn);
  const secrets = secretsClient(secretArn);
  const client = new pg.Client({
    host: env(rolesLambdaEnv.host),
    port: Number(env(rolesLambdaEnv.port)),
    database: env(rolesLambdaEnv.database),
    user: await readSecretField(secrets, secretArn, "username"),
    password: await readSecretField(secrets, secretArn, "password"),
    ssl: { ca, rejectUnauthorized: true },
    connectionTimeoutMillis: 10_000,
  });
  await client.connect();
  try {
    // All or nothing: a deploy that fails halfway leaves the roles as they were.
    await client.query("BEGIN");
    const report = await ensureServiceRoles(
      client,
      event.services.map((service) => ({ service })),
    );
    await client.query("COMMIT");
    return report;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    await client.end();
  }
}
