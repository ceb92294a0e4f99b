import { randomUUID } from "node:crypto";
import type { Db } from "../shared/sql/db.ts";
import { hashKey, keyPrefix } from "./keys.ts";

export const migrations = [
  `
CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  name TEXT NOT NULL,
  key_hash TEXT NOT NULL UNIQUE,
  key_prefix TEXT NOT NULL,
  plan TEXT NOT NULL,
  created_at TEXT NOT NULL,
  revoked_at TEXT
);
CREATE INDEX api_keys_user ON api_keys (user_id);
`,
  // Comma-separated scopes ('admin'); empty for an ordinary key.
  `ALTER TABLE api_keys ADD COLUMN scopes TEXT NOT NULL DEFAULT ''`,
  // The key that made this one (POST /v1/auth/keys), so that revoking it revokes its offspring.
  `ALTER TABLE api_keys ADD COLUMN created_by TEXT;
CREATE INDEX api_keys_created_by ON api_keys (created_by);`,
  // The gateways follow revocations by time (/internal/revocations).
  `CREATE INDEX api_keys_revoked_at ON api_keys (revoked_at);`,
];

/** Live keys a user may hold through the API: a key cannot mint keys without end. */
export const MAX_ACTIVE_KEYS_PER_USER = 200;

/** The user holds `MAX_ACTIVE_KEYS_PER_USER` live keys already. */
export class KeyLimitReached extends Error {}

export type Scope = "admin";

export interface ApiKeyRecord {
  id: string;
  userId: string;
  name: string;
  prefix: string;
  plan: string;
  scopes: Scope[];
  createdAt: string;
  revokedAt: string | null;
}

/** A live key as verification finds it: `plan` is the one recorded with it (see owners.ts). */
export interface VerifiedKey {
  userId: string;
  keyId: string;
  plan: string;
  scopes: Scope[];
}

interface Row {
  id: string;
  user_id: string;
  name: string;
  key_prefix: string;
  plan: string;
  scopes: string;
  created_at: string;
  revoked_at: string | null;
}

const scopesOf = (r: Row): Scope[] => (r.scopes ? (r.scopes.split(",") as Scope[]) : []);

const toRecord = (r: Row): ApiKeyRecord => ({
  id: r.id,
  userId: r.user_id,
  name: r.name,
  prefix: r.key_prefix,
  plan: r.plan,
  scopes: scopesOf(r),
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
});

export function keyStore(db: Db) {
  return {
    /**
     * Stores `key` (hashed) for `userId`; storing the same key twice keeps the first record.
     * `createdBy`: the key that asks, for the API (then the user's live keys are capped).
     */
    async add(
      userId: string,
      name: string,
      key: string,
      plan: string,
      scopes: readonly Scope[] = [],
      createdBy?: string,
    ): Promise<ApiKeyRecord> {
      const id = `key_${randomUUID().replace(/-/g, "")}`;
      return db.transaction(async (tx) => {
        if (createdBy !== undefined) {
          // One user's keys are counted one request at a time (SQLite has one writer anyway).
          if (tx.engine === "postgres")
            await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`keys:${userId}`]);
          const [live] = await tx.query<{ n: number | string }>(
            "SELECT COUNT(*) AS n FROM api_keys WHERE user_id = $1 AND revoked_at IS NULL",
            [userId],
          );
          if (Number(live!.n) >= MAX_ACTIVE_KEYS_PER_USER) throw new KeyLimitReached();
        }
        await tx.query(
          `INSERT INTO api_keys (id, user_id, name, key_hash, key_prefix, plan, scopes, created_at, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (key_hash) DO NOTHING`,
          [
            id,
            userId,
            name,
            hashKey(key),
            keyPrefix(key),
            plan,
            scopes.join(","),
            new Date().toISOString(),
            createdBy ?? null,
          ],
        );
        const rows = await tx.query<Row>("SELECT * FROM api_keys WHERE key_hash = $1", [
          hashKey(key),
        ]);
        return toRecord(rows[0]!);
      });
    },

    async verify(key: string): Promise<VerifiedKey | null> {
      const rows = await db.query<Row>(
        "SELECT * FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
        [hashKey(key)],
      );
      const row = rows[0];
      return row
        ? { userId: row.user_id, keyId: row.id, plan: row.plan, scopes: scopesOf(row) }
        : null;
    },

    /** Records the plan the user service gave for the user, the fallback while it is away. */
    async recordPlan(userId: string, plan: string): Promise<void> {
      await db.query("UPDATE api_keys SET plan = $2 WHERE user_id = $1 AND plan <> $2", [
        userId,
        plan,
      ]);
    },

    async list(userId: string): Promise<ApiKeyRecord[]> {
      const rows = await db.query<Row>(
        "SELECT * FROM api_keys WHERE user_id = $1 ORDER BY created_at, id",
        [userId],
      );
      return rows.map(toRecord);
    },

    /**
     * Revokes one of the user's keys (any user's for an admin: `userId` undefined), and with it
     * every live key it made, and those they made: a leaked key's offspring go with it.
     */
    async revoke(userId: string | undefined, id: string): Promise<boolean> {
      const params = [new Date().toISOString(), id, ...(userId === undefined ? [] : [userId])];
      const rows = await db.query<{ id: string }>(
        `WITH RECURSIVE doomed (id) AS (
           SELECT id FROM api_keys
           WHERE id = $2${userId === undefined ? "" : " AND user_id = $3"} AND revoked_at IS NULL
           UNION
           SELECT k.id FROM api_keys k JOIN doomed d ON k.created_by = d.id
           WHERE k.revoked_at IS NULL
         )
         UPDATE api_keys SET revoked_at = $1 WHERE id IN (SELECT id FROM doomed) RETURNING id`,
        params,
      );
      return rows.length > 0;
    },

    /** Hashes of the keys revoked at or after `since` (ISO), oldest first, at most `limit`. */
    async revokedSince(since: string, limit: number): Promise<{ hash: string; at: string }[]> {
      const rows = await db.query<{ key_hash: string; revoked_at: string }>(
        `SELECT key_hash, revoked_at FROM api_keys
         WHERE revoked_at >= $1 ORDER BY revoked_at LIMIT ${Math.trunc(limit)}`,
        [since],
      );
      return rows.map((r) => ({ hash: r.key_hash, at: r.revoked_at }));
    },
  };
}

export type KeyStore = ReturnType<typeof keyStore>;
