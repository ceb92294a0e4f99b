import { createOnce, type CreateResult, type Idempotency } from "../shared/idempotency.ts";
import { newId } from "../shared/ids.ts";
import { OUTBOX_MIGRATION, enqueueEvent } from "../shared/outbox.ts";
import { ownedPage, type Page } from "../shared/pagination.ts";
import type { Db } from "../shared/sql/db.ts";
import type { Article } from "./contract.ts";

export const ARTICLES_TOPIC = "business.articles";

export const migrations = [
  `
CREATE TABLE articles (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  title TEXT NOT NULL,
  body TEXT NOT NULL,
  tags TEXT NOT NULL,
  status TEXT NOT NULL,
  version INTEGER NOT NULL,
  idempotency_key TEXT,
  request_hash TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (user_id, idempotency_key)
);
CREATE INDEX articles_user ON articles (user_id, id);
`,
  OUTBOX_MIGRATION,
];

export type ArticleStatus = Article["status"];

export type ArticleInput = Pick<Article, "title" | "body" | "tags" | "status">;

export type { Article };

interface Row {
  id: string;
  user_id: string;
  title: string;
  body: string;
  tags: string;
  status: string;
  version: number | string;
  request_hash: string | null;
  created_at: string;
  updated_at: string;
}

const toArticle = (r: Row): Article => ({
  id: r.id,
  object: "article",
  userId: r.user_id,
  title: r.title,
  body: r.body,
  tags: JSON.parse(r.tags) as string[],
  status: r.status as ArticleStatus,
  version: Number(r.version),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** What a conditional write found: done, no such article, or a newer version than expected. */
export type WriteResult =
  { kind: "done"; article: Article } | { kind: "missing" } | { kind: "stale"; current: number };

const COLUMNS = ["title", "body", "tags", "status"] as const;

export function articleStore(db: Db) {
  const current = async (tx: Db, userId: string, id: string) =>
    (await tx.query<Row>("SELECT * FROM articles WHERE user_id = $1 AND id = $2", [userId, id]))[0];

  return {
    /** Creates an article and its `article.created` event in one transaction, once per key. */
    create(
      userId: string,
      input: ArticleInput,
      idempotency?: Idempotency,
    ): Promise<CreateResult<Article>> {
      return createOnce(db, {
        table: "articles",
        owner: userId,
        idempotency,
        toValue: toArticle,
        create: async (tx) => {
          const now = new Date().toISOString();
          const [row] = await tx.query<Row>(
            `INSERT INTO articles (id, user_id, title, body, tags, status, version, idempotency_key, request_hash, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8, $9, $9) RETURNING *`,
            [
              newId("art"),
              userId,
              input.title,
              input.body,
              JSON.stringify(input.tags),
              input.status,
              idempotency?.key ?? null,
              idempotency?.requestHash ?? null,
              now,
            ],
          );
          const article = toArticle(row!);
          await enqueueEvent(tx, ARTICLES_TOPIC, userId, "article.created", article);
          return article;
        },
      });
    },

    async get(userId: string, id: string): Promise<Article | undefined> {
      const row = await current(db, userId, id);
      return row && toArticle(row);
    },

    list(userId: string, page: { limit: number; after?: string }): Promise<Page<Article>> {
      return ownedPage(db, "articles", userId, page, toArticle);
    },

    /**
     * Applies `changes` if the article is still at `expected`: the version check and the write are
     * one statement, so of two updates made from the same read exactly one wins.
     */
    update(
      userId: string,
      id: string,
      expected: number,
      changes: Partial<ArticleInput>,
    ): Promise<WriteResult> {
      return db.transaction(async (tx) => {
        const set: string[] = [];
        const params: unknown[] = [userId, id, expected, new Date().toISOString()];
        for (const column of COLUMNS) {
          const value = changes[column];
          if (value === undefined) continue;
          params.push(column === "tags" ? JSON.stringify(value) : value);
          set.push(`${column} = $${params.length}`);
        }
        const [row] = await tx.query<Row>(
          `UPDATE articles SET ${set.join(", ")}, version = version + 1, updated_at = $4
           WHERE user_id = $1 AND id = $2 AND version = $3 RETURNING *`,
          params,
        );
        if (!row) return missingOrStale(tx, userId, id);
        const article = toArticle(row);
        await enqueueEvent(tx, ARTICLES_TOPIC, userId, "article.updated", article);
        return { kind: "done", article };
      });
    },

    /** Deletes the article; with `expected`, only if it is still at that version. */
    remove(userId: string, id: string, expected?: number): Promise<WriteResult> {
      return db.transaction(async (tx) => {
        const [row] =
          expected === undefined
            ? await tx.query<Row>(
                "DELETE FROM articles WHERE user_id = $1 AND id = $2 RETURNING *",
                [userId, id],
              )
            : await tx.query<Row>(
                "DELETE FROM articles WHERE user_id = $1 AND id = $2 AND version = $3 RETURNING *",
                [userId, id, expected],
              );
        if (!row) return missingOrStale(tx, userId, id);
        const article = toArticle(row);
        await enqueueEvent(tx, ARTICLES_TOPIC, userId, "article.deleted", {
          id: article.id,
          userId,
          version: article.version,
        });
        return { kind: "done", article };
      });
    },
  };

  async function missingOrStale(tx: Db, userId: string, id: string): Promise<WriteResult> {
    const row = await current(tx, userId, id);
    return row ? { kind: "stale", current: Number(row.version) } : { kind: "missing" };
  }
}

export type ArticleStore = ReturnType<typeof articleStore>;
