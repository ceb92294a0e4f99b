import type { Express, Response } from "express";
import { ApiError, notFound } from "../shared/errors.ts";
import { idempotencyOf, sendCreated } from "../shared/idempotency.ts";
import { listBody } from "../shared/pagination.ts";
import { principalFrom } from "../shared/principal.ts";
import { jsonBody, parse } from "../shared/validation.ts";
import {
  articleId,
  createArticleBody,
  etagOf,
  ifMatch,
  listArticlesQuery,
  updateArticleBody,
} from "./contract.ts";
import type { Article, ArticleStore, WriteResult } from "./store.ts";

const ROUTE = "/v1/articles";

export function articleRoutes(app: Express, articles: ArticleStore): void {
  app.post(ROUTE, ...jsonBody("128kb"), async (req, res) => {
    res.locals.route = ROUTE;
    const { userId } = principalFrom(req.headers);
    const input = parse(createArticleBody, req.body);
    const result = await articles.create(userId, input, idempotencyOf(req.headers, input));
    if (result.kind !== "conflict") res.setHeader("etag", etagOf(result.value.version));
    sendCreated(res, result);
  });

  app.get(ROUTE, async (req, res) => {
    res.locals.route = ROUTE;
    const { userId } = principalFrom(req.headers);
    res.json(listBody(await articles.list(userId, parse(listArticlesQuery, req.query, "query"))));
  });

  app.get(`${ROUTE}/:id`, async (req, res) => {
    res.locals.route = ROUTE;
    const { userId } = principalFrom(req.headers);
    const id = parse(articleId, req.params.id, "id");
    const article = await articles.get(userId, id);
    if (!article) throw missing(id);
    sendArticle(res, article);
  });

  app.patch(`${ROUTE}/:id`, ...jsonBody("128kb"), async (req, res) => {
    res.locals.route = ROUTE;
    const { userId } = principalFrom(req.headers);
    const id = parse(articleId, req.params.id, "id");
    const raw = req.headers["if-match"];
    if (raw === undefined) {
      throw new ApiError(
        428,
        "invalid_request_error",
        "precondition_required",
        "send If-Match with the ETag of the version you read, so that no update is lost",
        "If-Match",
      );
    }
    const expected = parse(ifMatch, raw, "If-Match");
    const changes = parse(updateArticleBody, req.body);
    sendArticle(res, done(id, await articles.update(userId, id, expected, changes)));
  });

  app.delete(`${ROUTE}/:id`, async (req, res) => {
    res.locals.route = ROUTE;
    const { userId } = principalFrom(req.headers);
    const id = parse(articleId, req.params.id, "id");
    const raw = req.headers["if-match"];
    const expected = raw === undefined ? undefined : parse(ifMatch, raw, "If-Match");
    done(id, await articles.remove(userId, id, expected));
    res.status(204).end();
  });
}

function sendArticle(res: Response, article: Article): void {
  res.setHeader("etag", etagOf(article.version));
  res.json(article);
}

function done(id: string, result: WriteResult): Article {
  if (result.kind === "missing") throw missing(id);
  if (result.kind === "stale") {
    throw new ApiError(
      412,
      "invalid_request_error",
      "version_mismatch",
      `article ${id} is at version ${result.current}: read it again and reapply the change`,
      "If-Match",
    );
  }
  return result.article;
}

const missing = (id: string) => notFound("article_not_found", `no article ${id}`);
