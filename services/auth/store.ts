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
];

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
    /** Stores `key` (hashed) for `userId`; storing the same key twice keeps the first record. */
    async add(
      userId: string,
      name: string,
      key: string,
      plan: string,
      scopes: readonly Scope[] = [],
    ): Promise<ApiKeyRecord> {
      const id = `key_${randomUUID().replace(/-/g, "")}`;
      await db.query(
        `INSERT INTO api_keys (id, user_id, name, key_hash, key_prefix, plan, scopes, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (key_hash) DO NOTHING`,
        [
          id,
          userId,
          name,
          hashKey(key),
          keyPrefix(key),
          plan,
          scopes.join(","),
          new Date().toISOString(),
        ],
      );
      const rows = await db.query<Row>("SELECT * FROM api_keys WHERE key_hash = $1", [
        hashKey(key),
      ]);
      return toRecord(rows[0]!);
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

    /** Revokes one of the user's keys (any user's for an admin: `userId` undefined). */
    async revoke(userId: string | undefined, id: string): Promise<boolean> {
      const params = [new Date().toISOString(), id, ...(userId === undefined ? [] : [userId])];
      const rows = await db.query<{ id: string }>(
        `UPDATE api_keys SET revoked_at = $1 WHERE id = $2${userId === undefined ? "" : " AND user_id = $3"} AND revoked_at IS NULL RETURNING id`,
        params,
      );
      return rows.length > 0;
    },
  };
}

export type KeyStore = ReturnType<typeof keyStore>;
