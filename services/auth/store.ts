import { randomUUID } from "node:crypto";
import type { Principal } from "../shared/principal.ts";
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
];

export interface ApiKeyRecord {
  id: string;
  userId: string;
  name: string;
  prefix: string;
  plan: string;
  createdAt: string;
  revokedAt: string | null;
}

interface Row {
  id: string;
  user_id: string;
  name: string;
  key_prefix: string;
  plan: string;
  created_at: string;
  revoked_at: string | null;
}

const toRecord = (r: Row): ApiKeyRecord => ({
  id: r.id,
  userId: r.user_id,
  name: r.name,
  prefix: r.key_prefix,
  plan: r.plan,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
});

export function keyStore(db: Db) {
  return {
    /** Stores `key` (hashed) for `userId`; storing the same key twice keeps the first record. */
    async add(userId: string, name: string, key: string, plan: string): Promise<ApiKeyRecord> {
      const id = `key_${randomUUID().replace(/-/g, "")}`;
      await db.query(
        `INSERT INTO api_keys (id, user_id, name, key_hash, key_prefix, plan, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (key_hash) DO NOTHING`,
        [id, userId, name, hashKey(key), keyPrefix(key), plan, new Date().toISOString()],
      );
      const rows = await db.query<Row>("SELECT * FROM api_keys WHERE key_hash = $1", [
        hashKey(key),
      ]);
      return toRecord(rows[0]!);
    },

    async verify(key: string): Promise<Principal | null> {
      const rows = await db.query<Row>(
        "SELECT * FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
        [hashKey(key)],
      );
      const row = rows[0];
      return row ? { userId: row.user_id, keyId: row.id, plan: row.plan } : null;
    },

    async list(userId: string): Promise<ApiKeyRecord[]> {
      const rows = await db.query<Row>(
        "SELECT * FROM api_keys WHERE user_id = $1 ORDER BY created_at, id",
        [userId],
      );
      return rows.map(toRecord);
    },

    /** Revokes one of the user's keys; false when the user has no such key. */
    async revoke(userId: string, id: string): Promise<boolean> {
      const rows = await db.query<{ id: string }>(
        "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL RETURNING id",
        [new Date().toISOString(), id, userId],
      );
      return rows.length > 0;
    },
  };
}

export type KeyStore = ReturnType<typeof keyStore>;
