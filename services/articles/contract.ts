import { z } from "zod";
import { idSchema } from "../shared/ids.ts";
import { listOf, pageQuery } from "../shared/pagination.ts";

// The articles API's shapes: the requests, shared by the service and the gateway's validation,
// and the answers, published in the API's description and held to the real ones in tests.

export const articleId = idSchema("art", "an article id");

const fields = {
  title: z.string().trim().min(1).max(200),
  body: z.string().min(1).max(50_000),
  tags: z
    .array(z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, "must be a lower-case tag (a-z 0-9 -)"))
    .max(10)
    .refine((t) => new Set(t).size === t.length, "must not repeat a tag"),
  status: z.enum(["draft", "published"]),
};

export const createArticleBody = z
  .object({
    ...fields,
    tags: fields.tags.default([]),
    status: fields.status.default("draft"),
  })
  .strict();

/** A partial update: any of the fields, at least one. */
export const updateArticleBody = z
  .object(fields)
  .partial()
  .strict()
  .refine((u) => Object.keys(u).length > 0, "must change at least one field");

export const listArticlesQuery = pageQuery(articleId);

/**
 * `If-Match` carries the version the client last read, as its ETag (`"3"`, or weak `W/"3"`), so
 * that an update made from a stale copy is refused instead of silently losing another's change.
 */
export const ifMatch = z
  .string()
  .regex(/^(W\/)?"[1-9][0-9]{0,9}"$/, 'must be the ETag of the version read, like "3"')
  .transform((v) => Number(v.replace(/^(W\/)?"|"$/g, "")));

export const etagOf = (version: number): string => `"${version}"`;

export const articleSchema = z
  .object({
    id: articleId,
    object: z.literal("article"),
    userId: z.string(),
    ...fields,
    version: z.number().int().min(1).meta({
      description: "Starts at 1 and grows by one on each update; the ETag is this number",
    }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .strict()
  .meta({ id: "Article", description: "An article, as its owner sees it" });
export type Article = z.infer<typeof articleSchema>;

export const articleList = listOf(articleSchema);
