import type { Db } from "./db.ts";

/**
 * Applies the migrations not yet recorded, in order, each in its own transaction. Replicas start
 * together, so the whole run holds a lock: PostgreSQL's transaction-scoped advisory lock, or
 * SQLite's write lock (BEGIN IMMEDIATE). Migration N is `migrations[N - 1]`; never edit one that
 * has shipped, append a new one.
 */
export async function migrate(
  db: Db,
  service: string,
  migrations: readonly string[],
): Promise<number> {
  return db.transaction(async (tx) => {
    if (tx.engine === "postgres") {
      await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`migrate:${service}`]);
    }
    await tx.query(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
    );
    const rows = await tx.query<{ version: number | string }>(
      "SELECT version FROM schema_migrations",
    );
    const applied = new Set(rows.map((r) => Number(r.version)));
    let count = 0;
    for (const [i, sql] of migrations.entries()) {
      const version = i + 1;
      if (applied.has(version)) continue;
      for (const statement of sql
        .split(/;\s*$/m)
        .map((s) => s.trim())
        .filter(Boolean)) {
        await tx.query(statement);
      }
      await tx.query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", [
        version,
        new Date().toISOString(),
      ]);
      count++;
    }
    return count;
  });
}
