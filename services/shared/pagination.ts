import { z } from "zod";
import type { Db } from "./sql/db.ts";

// Keyset pagination over time-ordered ids (see ids.ts): newest first, and the next page starts
// below the last id seen, so pages stay stable while rows are added, unlike OFFSET.

/** `?limit=&after=` for a list of one kind of id; unknown query parameters are refused. */
export function pageQuery(id: z.ZodString) {
  return z
    .object({
      limit: z.coerce.number().int().min(1).max(100).default(20),
      after: id.optional(),
    })
    .strict();
}

export interface Page<T> {
  items: T[];
  hasMore: boolean;
}

/**
 * One page of `table`'s rows owned by `owner` (its `user_id`), newest first, narrowed by `equal`
 * (column = value). `table` and the column names come from the service's own code, never from a
 * request; the values are bound parameters.
 */
export async function ownedPage<Row, T>(
  db: Db,
  table: string,
  owner: string,
  page: { limit: number; after?: string },
  map: (row: Row) => T,
  equal: Record<string, unknown> = {},
): Promise<Page<T>> {
  const params: unknown[] = [owner];
  let where = "";
  for (const [column, value] of Object.entries(equal)) {
    params.push(value);
    where += ` AND ${column} = $${params.length}`;
  }
  if (page.after) {
    params.push(page.after);
    where += ` AND id < $${params.length}`;
  }
  params.push(page.limit + 1);
  const rows = await db.query<Row>(
    `SELECT * FROM ${table} WHERE user_id = $1${where} ORDER BY id DESC LIMIT $${params.length}`,
    params,
  );
  return { items: rows.slice(0, page.limit).map(map), hasMore: rows.length > page.limit };
}

/** The list body every collection answers, in the OpenAI API's shape. */
export function listBody<T>(page: Page<T>): { object: "list"; data: T[]; has_more: boolean } {
  return { object: "list", data: page.items, has_more: page.hasMore };
}

/** The schema of `listBody`'s answer for items of `item`, for an operation's `success.json`. */
export const listOf = <T extends z.ZodType>(item: T) =>
  z.object({ object: z.literal("list"), data: z.array(item), has_more: z.boolean() }).strict();
