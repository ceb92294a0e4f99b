import { newId } from "../shared/ids.ts";
import type { Page } from "../shared/pagination.ts";
import type { Db } from "../shared/sql/db.ts";
import type { Plan, User } from "./contract.ts";

// Plans are seeded by the migration so that every replica, on every target, starts with the same
// `free` and `pro`; an admin changes them later with PUT /v1/users/plans/:name. A deleted user is
// kept (deleted_at) so that auth can tell "deleted" (its keys stop working) from "never known".

export const migrations = [
  `
CREATE TABLE plans (
  name TEXT PRIMARY KEY,
  requests_per_day BIGINT NOT NULL,
  tokens_per_day BIGINT NOT NULL,
  models TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
INSERT INTO plans (name, requests_per_day, tokens_per_day, models, updated_at) VALUES ('free', 1000, 1000000, '[]', '1970-01-01T00:00:00.000Z');
INSERT INTO plans (name, requests_per_day, tokens_per_day, models, updated_at) VALUES ('pro', 100000, 100000000, '[]', '1970-01-01T00:00:00.000Z');
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL,
  name TEXT NOT NULL,
  plan TEXT NOT NULL REFERENCES plans (name),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  deleted_at TEXT
);
CREATE UNIQUE INDEX users_email ON users (email) WHERE deleted_at IS NULL;
CREATE INDEX users_plan ON users (plan, id);
`,
];

interface PlanRow {
  name: string;
  requests_per_day: number | string;
  tokens_per_day: number | string;
  models: string;
}

interface UserRow {
  id: string;
  email: string;
  name: string;
  plan: string;
  created_at: string;
  deleted_at: string | null;
}

const toPlan = (r: PlanRow): Plan => ({
  object: "plan",
  name: r.name,
  requestsPerDay: Number(r.requests_per_day),
  tokensPerDay: Number(r.tokens_per_day),
  models: JSON.parse(r.models) as string[],
});

const toUser = (r: UserRow): User => ({
  object: "user",
  id: r.id,
  email: r.email,
  name: r.name,
  plan: r.plan,
  createdAt: r.created_at,
});

/** Why a write was refused, for the routes to turn into 4xx answers. */
export type WriteRefusal = "unknown_plan" | "email_taken" | "id_taken";

export type Lookup = { kind: "found"; user: User } | { kind: "deleted" } | { kind: "unknown" };

export function userStore(db: Db) {
  async function planExists(tx: Db, name: string): Promise<boolean> {
    return (await tx.query("SELECT 1 FROM plans WHERE name = $1", [name])).length > 0;
  }
  async function emailTaken(tx: Db, email: string, except?: string): Promise<boolean> {
    const rows = await tx.query<{ id: string }>(
      "SELECT id FROM users WHERE email = $1 AND deleted_at IS NULL",
      [email],
    );
    return rows.some((r) => r.id !== except);
  }

  return {
    async plans(): Promise<Plan[]> {
      return (await db.query<PlanRow>("SELECT * FROM plans ORDER BY name")).map(toPlan);
    },

    async plan(name: string): Promise<Plan | undefined> {
      const [row] = await db.query<PlanRow>("SELECT * FROM plans WHERE name = $1", [name]);
      return row && toPlan(row);
    },

    /** Creates or replaces a plan; true when it is new. */
    async putPlan(name: string, p: Omit<Plan, "object" | "name">): Promise<boolean> {
      return db.transaction(async (tx) => {
        const existed = await planExists(tx, name);
        await tx.query(
          `INSERT INTO plans (name, requests_per_day, tokens_per_day, models, updated_at)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (name) DO UPDATE SET requests_per_day = excluded.requests_per_day,
             tokens_per_day = excluded.tokens_per_day, models = excluded.models,
             updated_at = excluded.updated_at`,
          [
            name,
            p.requestsPerDay,
            p.tokensPerDay,
            JSON.stringify(p.models),
            new Date().toISOString(),
          ],
        );
        return !existed;
      });
    },

    /**
     * A user, deleted or not: auth needs the difference (a deleted user's keys are refused, an
     * unknown user's keep the plan recorded with them).
     */
    async lookup(id: string): Promise<Lookup> {
      const [row] = await db.query<UserRow>("SELECT * FROM users WHERE id = $1", [id]);
      if (!row) return { kind: "unknown" };
      return row.deleted_at ? { kind: "deleted" } : { kind: "found", user: toUser(row) };
    },

    async create(input: {
      id?: string;
      email: string;
      name: string;
      plan: string;
    }): Promise<User | WriteRefusal> {
      return db.transaction(async (tx) => {
        if (!(await planExists(tx, input.plan))) return "unknown_plan";
        if (await emailTaken(tx, input.email)) return "email_taken";
        const id = input.id ?? newId("user");
        const now = new Date().toISOString();
        const inserted = await tx.query<UserRow>(
          `INSERT INTO users (id, email, name, plan, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (id) DO NOTHING RETURNING *`,
          [id, input.email, input.name, input.plan, now],
        );
        return inserted[0] ? toUser(inserted[0]) : "id_taken";
      });
    },

    async update(
      id: string,
      change: { email?: string; name?: string; plan?: string },
    ): Promise<User | WriteRefusal | undefined> {
      return db.transaction(async (tx) => {
        const [row] = await tx.query<UserRow>(
          "SELECT * FROM users WHERE id = $1 AND deleted_at IS NULL",
          [id],
        );
        if (!row) return undefined;
        if (change.plan !== undefined && !(await planExists(tx, change.plan)))
          return "unknown_plan";
        if (change.email !== undefined && (await emailTaken(tx, change.email, id)))
          return "email_taken";
        const [updated] = await tx.query<UserRow>(
          `UPDATE users SET email = $2, name = $3, plan = $4, updated_at = $5 WHERE id = $1 RETURNING *`,
          [
            id,
            change.email ?? row.email,
            change.name ?? row.name,
            change.plan ?? row.plan,
            new Date().toISOString(),
          ],
        );
        return toUser(updated!);
      });
    },

    /** Marks the user deleted; false when there is no such (live) user. */
    async remove(id: string): Promise<boolean> {
      const rows = await db.query(
        "UPDATE users SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL RETURNING id",
        [id, new Date().toISOString()],
      );
      return rows.length > 0;
    },

    /** Live users by id, descending (generated ids sort newest first); `after` is the last id seen. */
    async list(q: { limit: number; after?: string; plan?: string }): Promise<Page<User>> {
      const params: unknown[] = [];
      let where = "deleted_at IS NULL";
      if (q.plan) {
        params.push(q.plan);
        where += ` AND plan = $${params.length}`;
      }
      if (q.after) {
        params.push(q.after);
        where += ` AND id < $${params.length}`;
      }
      params.push(q.limit + 1);
      const rows = await db.query<UserRow>(
        `SELECT * FROM users WHERE ${where} ORDER BY id DESC LIMIT $${params.length}`,
        params,
      );
      return { items: rows.slice(0, q.limit).map(toUser), hasMore: rows.length > q.limit };
    },
  };
}

export type UserStore = ReturnType<typeof userStore>;
