import { idempotencyKey } from "../shared/idempotency.ts";
import { operations } from "../shared/operation.ts";
import {
  articleId,
  articleList,
  articleSchema,
  createArticleBody,
  ifMatch,
  listArticlesQuery,
  updateArticleBody,
} from "./contract.ts";

export const articlesApi = operations([
  {
    id: "createArticle",
    method: "post",
    path: "/v1/articles",
    summary: "Write an article; a repeat under the same Idempotency-Key answers the first one",
    headers: { "Idempotency-Key": idempotencyKey.optional() },
    body: { json: createArticleBody },
    success: { status: 201, json: articleSchema },
  },
  {
    id: "listArticles",
    method: "get",
    path: "/v1/articles",
    summary: "The caller's articles, a page at a time",
    query: listArticlesQuery,
    success: { json: articleList },
  },
  {
    id: "getArticle",
    method: "get",
    path: "/v1/articles/:id",
    summary: "One of the caller's articles, with its version as the ETag",
    params: { id: articleId },
    success: { json: articleSchema },
  },
  {
    id: "updateArticle",
    method: "patch",
    path: "/v1/articles/:id",
    summary: "Change an article, if it is still at the version of If-Match",
    params: { id: articleId },
    headers: { "If-Match": ifMatch },
    body: { json: updateArticleBody },
    success: { json: articleSchema },
  },
  {
    id: "deleteArticle",
    method: "delete",
    path: "/v1/articles/:id",
    summary: "Delete an article (at the version of If-Match, when sent)",
    params: { id: articleId },
    headers: { "If-Match": ifMatch.optional() },
    success: { status: 204 },
  },
]);
