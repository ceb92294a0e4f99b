import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { DatabaseSync, type SQLInputValue } from "node:sqlite";
import type { Db } from "./db.ts";

/** `$1` (PostgreSQL) to `?1` (SQLite's numbered parameter), so one statement serves both. */
function toSqlite(sql: string): string {
  return sql.replace(/\$(\d+)/g, "?$1");
}

function bind(params: readonly unknown[]): SQLInputValue[] {
  return params.map((p) => (typeof p === "boolean" ? Number(p) : (p as SQLInputValue)));
}

interface Shared {
  sqlite: DatabaseSync;
  exclusive: <T>(fn: () => Promise<T>) => Promise<T>;
  users: number;
}

/**
 * One connection per file per process. node:sqlite is synchronous, so a second connection of the
 * same process waiting on the file's lock would block the very thread that must release it.
 */
const openFiles = new Map<string, Shared>();

function share(file: string): Shared {
  const path = resolve(file);
  const existing = openFiles.get(path);
  if (existing) {
    existing.users++;
    return existing;
  }
  mkdirSync(dirname(path), { recursive: true });
  // The busy timeout first: replicas open a new file together, and switching it to WAL needs a
  // lock that the other may hold for a moment.
  const sqlite = new DatabaseSync(path, { timeout: 10_000 });
  sqlite.exec("PRAGMA busy_timeout = 10000");
  sqlite.exec("PRAGMA journal_mode = WAL");
  sqlite.exec("PRAGMA foreign_keys = ON");
  let tail: Promise<unknown> = Promise.resolve();
  const shared: Shared = {
    sqlite,
    users: 1,
    exclusive: <T>(fn: () => Promise<T>): Promise<T> => {
      const run = tail.then(fn, fn);
      tail = run.catch(() => undefined);
      return run;
    },
  };
  openFiles.set(path, shared);
  return shared;
}

/**
 * The embedded default store. A transaction that awaits would let other requests' statements
 * slip into it, so a FIFO lock keeps them out until it ends. WAL mode and a busy timeout let the
 * replicas of a service (separate processes) share the file.
 */
export function openSqlite(file: string): Db {
  const shared = share(file);
  const { sqlite, exclusive } = shared;
  const run = <T>(sql: string, params: readonly unknown[]): T[] =>
    sqlite.prepare(toSqlite(sql)).all(...bind(params)) as T[];

  const inTx: Db = {
    engine: "sqlite",
    query: async <T>(sql: string, params: readonly unknown[] = []) => run<T>(sql, params),
    transaction: (fn) => fn(inTx),
    ping: async () => true,
    close: async () => undefined,
  };

  let closed = false;
  return {
    engine: "sqlite",
    query: <T>(sql: string, params: readonly unknown[] = []) =>
      exclusive(async () => run<T>(sql, params)),
    transaction: <T>(fn: (tx: Db) => Promise<T>) =>
      exclusive(async () => {
        // IMMEDIATE takes the write lock now, so two replicas cannot both read-then-write.
        sqlite.exec("BEGIN IMMEDIATE");
        try {
          const result = await fn(inTx);
          sqlite.exec("COMMIT");
          return result;
        } catch (err) {
          sqlite.exec("ROLLBACK");
          throw err;
        }
      }),
    ping: async () => {
      try {
        sqlite.prepare("SELECT 1").get();
        return true;
      } catch {
        return false;
      }
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await exclusive(async () => {
        if (--shared.users > 0) return;
        openFiles.delete(resolve(file));
        sqlite.close();
      });
    },
  };
}
