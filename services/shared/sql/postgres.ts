import pg from "pg";
import { parse } from "pg-connection-string";
import type { Db } from "./db.ts";
import { isPasswordRefused, type PasswordSource } from "./rotatingPassword.ts";
import { quoteIdent } from "./serviceRoles.ts";

function wrap(client: pg.Pool | pg.PoolClient): Pick<Db, "query"> {
  return {
    async query<T>(sql: string, params: readonly unknown[] = []) {
      const result = await client.query(sql, params as unknown[]);
      return result.rows as T[];
    },
  };
}

/**
 * Runs `attempt`; if the server refused the connection's password (it was rotated since it was
 * read), forgets it and tries once more with the current one. Nothing ran on a connection that
 * was refused, so the retry cannot repeat a statement.
 */
async function withFreshPassword<T>(
  password: PasswordSource | undefined,
  attempt: () => Promise<T>,
): Promise<T> {
  const generation = password?.generation;
  try {
    return await attempt();
  } catch (err) {
    if (!password || !isPasswordRefused(err)) throw err;
    password.invalidate(generation!);
    return attempt();
  }
}

/**
 * A pool whose connections live in the service's own schema, so that the services of a domain
 * share one database (one RDS per domain) without seeing each other's tables. With `password`,
 * each new connection asks it for the password (rotated secrets); otherwise the URL or
 * PGPASSWORD carries it.
 */
export async function openPostgres(
  url: string,
  schema: string,
  password?: PasswordSource,
  poolMax = 10,
): Promise<Db> {
  // pg lets a connection string's (empty) password override a `password` option: parse it here.
  const connection: pg.ClientConfig = password
    ? { ...(parse(url) as pg.ClientConfig), password: () => password.get() }
    : { connectionString: url };
  const bootstrap = new pg.Client(connection);
  await withFreshPassword(password, () => bootstrap.connect());
  try {
    // A service that signs in as its own role (serviceRoles.ts) finds its schema made for it, and
    // may not create one: CREATE SCHEMA IF NOT EXISTS checks that right before the schema.
    const found = await bootstrap.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema]);
    if (found.rowCount === 0)
      await bootstrap.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
  } catch (err) {
    // Replicas starting together race on CREATE SCHEMA; the loser sees a unique violation or,
    // having looked before the winner committed, duplicate_schema.
    if (!["23505", "42P06"].includes((err as { code?: string }).code ?? "")) throw err;
  } finally {
    await bootstrap.end();
  }
  const pool = new pg.Pool({
    ...connection,
    max: poolMax,
    options: `-c search_path=${quoteIdent(schema)}`,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client that loses its server emits on the pool; without a listener the process dies.
  pool.on("error", () => undefined);

  const pooled = wrap(pool);
  const db: Db = {
    engine: "postgres",
    query: password
      ? (sql, params) => withFreshPassword(password, () => pooled.query(sql, params))
      : pooled.query,
    async transaction(fn) {
      const client = await withFreshPassword(password, () => pool.connect());
      try {
        await client.query("BEGIN");
        const tx: Db = { ...db, ...wrap(client), transaction: (inner) => inner(tx) };
        const result = await fn(tx);
        await client.query("COMMIT");
        return result;
      } catch (err) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    async ping() {
      return db
        .query("SELECT 1")
        .then(() => true)
        .catch(() => false);
    },
    async close() {
      await pool.end();
    },
  };
  return db;
}
