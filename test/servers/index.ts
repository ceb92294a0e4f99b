import { randomBytes } from "node:crypto";
import pg from "pg";

export { startRedis } from "./redis.ts";
export type { RedisServerArgs } from "./redis.ts";
export { startPostgres, POSTGRES_USER, PASSWORD_LOGIN_ROLE } from "./postgres.ts";
export type { PostgresServerArgs } from "./postgres.ts";
export { startKafka } from "./kafka.ts";
export type { KafkaServerArgs } from "./kafka.ts";
export type { TestServer } from "./process.ts";

/** The variables through which jest's global setup hands its servers to every test. */
export const TEST_SERVER_ENV = {
  redis: "TEST_REDIS_URL",
  postgres: "TEST_DATABASE_URL",
  kafka: "TEST_KAFKA_BROKERS",
} as const;

/**
 * Creates a fresh, empty database on the shared PostgreSQL server and returns its URL, so that
 * an integration test owns its tables. `name` is a prefix: a random suffix keeps parallel jest
 * workers and reruns from colliding. The database lives until the server stops.
 */
export async function createDatabase(
  name: string,
  serverUrl: string | undefined = process.env[TEST_SERVER_ENV.postgres],
): Promise<string> {
  if (serverUrl === undefined) {
    throw new Error(
      `${TEST_SERVER_ENV.postgres} is not set: run the test under jest with globalSetup test/servers/globalSetup.ts, or pass the URL of startPostgres()`,
    );
  }
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(name)) {
    throw new Error(
      `database name prefix ${JSON.stringify(name)} must match [a-z_][a-z0-9_]{0,40}`,
    );
  }
  const database = `${name}_${randomBytes(6).toString("hex")}`;
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}
