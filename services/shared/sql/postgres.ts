import pg from "pg";
import type { Db } from "./db.ts";

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function wrap(client: pg.Pool | pg.PoolClient): Pick<Db, "query"> {
  return {
    async query<T>(sql: string, params: readonly unknown[] = []) {
      const result = await client.query(sql, params as unknown[]);
      return result.rows as T[];
    },
  };
}

/**
 * A pool whose connections live in the service's own schema, so that the services of a domain
 * share one database (one RDS per domain) without seeing each other's tables.
 */
export async function openPostgres(url: string, schema: string): Promise<Db> {
  const bootstrap = new pg.Client({ connectionString: url });
  await bootstrap.connect();
  try {
    await bootstrap.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
  } catch (err) {
    // Replicas starting together race on CREATE SCHEMA; the loser sees a unique violation.
    if ((err as { code?: string }).code !== "23505") throw err;
  } finally {
    await bootstrap.end();
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    options: `-c search_path=${quoteIdent(schema)}`,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client that loses its server emits on the pool; without a listener the process dies.
  pool.on("error", () => undefined);

  const db: Db = {
    engine: "postgres",
    ...wrap(pool),
    async transaction(fn) {
      const client = await pool.connect();
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
      return pool
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
