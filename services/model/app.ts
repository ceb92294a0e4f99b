import type { Express } from "express";
import { ApiError, badRequest } from "../shared/errors.ts";
import { isAdmin, principalFrom } from "../shared/principal.ts";
import { jsonBody, parse } from "../shared/validation.ts";
import {
  aliasBody,
  modelName,
  modelPageQuery,
  registerModelBody,
  selectBody,
  type ModelList,
} from "./contract.ts";
import { SourceConflict, type ModelStore, type Viewer } from "./store.ts";

/** The caller as the gateway signed it (chat passes the principal on), as the registry sees it. */
function viewerOf(headers: Parameters<typeof principalFrom>[0]): Viewer {
  const p = principalFrom(headers);
  return { userId: p.userId, admin: isAdmin(p) };
}

/**
 * No model the caller may use answers to the name: a 404 naming `model`, as OpenAI answers it.
 * Another user's trained model gets the same answer as a name nobody registered.
 */
export function modelNotFound(requested: string): ApiError {
  return new ApiError(
    404,
    "invalid_request_error",
    "model_not_found",
    `the model ${JSON.stringify(requested)} does not exist or you do not have access to it; GET /v1/models lists the models`,
    "model",
  );
}

/**
 * The registry's internal API. The service has no public route (catalog): only its domain's
 * services that list it in `calls` reach it. Listing and selecting carry the caller's signed
 * principal (chat passes on the one the gateway signed), since a trained model is its owner's.
 */
export function modelRoutes(app: Express, models: ModelStore): void {
  app.get("/internal/models", async (req, res) => {
    res.locals.route = "/internal/models";
    const viewer = viewerOf(req.headers);
    const { limit, after } = parse(modelPageQuery, req.query, "query");
    const entries = await models.list(viewer);
    const start = after === undefined ? 0 : entries.findIndex((m) => m.id === after) + 1;
    if (start === 0 && after !== undefined)
      throw badRequest("invalid_after", `after: no model ${after} in the list`, "after");
    const data = entries.slice(start, start + limit);
    const page: ModelList = {
      object: "list",
      data,
      has_more: start + limit < entries.length,
      first_id: data[0]?.id ?? null,
      last_id: data.at(-1)?.id ?? null,
    };
    res.json(page);
  });

  app.get("/internal/models/:id", async (req, res) => {
    res.locals.route = "/internal/models";
    const entry = (await models.list(viewerOf(req.headers))).find((m) => m.id === req.params.id);
    if (!entry) throw modelNotFound(req.params.id);
    res.json(entry);
  });

  app.post("/internal/select", ...jsonBody("4kb"), async (req, res) => {
    res.locals.route = "/internal/select";
    const { model } = parse(selectBody, req.body);
    const selection = await models.select(model, viewerOf(req.headers));
    if (!selection) throw modelNotFound(model);
    res.locals.decision = selection.model.id;
    res.json(selection);
  });

  app.post("/internal/models", ...jsonBody("16kb"), async (req, res) => {
    res.locals.route = "/internal/models";
    try {
      const { model, created } = await models.register(parse(registerModelBody, req.body));
      // 200: the version this source registered before (a retried registration).
      res.status(created ? 201 : 200).json(model);
    } catch (err) {
      if (!(err instanceof SourceConflict)) throw err;
      throw new ApiError(409, "invalid_request_error", "source_conflict", err.message, "source");
    }
  });

  app.put("/internal/aliases/:alias", ...jsonBody("4kb"), async (req, res) => {
    res.locals.route = "/internal/aliases";
    const alias = parse(modelName, req.params.alias, "alias");
    const target = parse(aliasBody, req.body);
    const ref = target.version === undefined ? target.name : `${target.name}:${target.version}`;
    if (!(await models.find(target.name, target.version))) throw modelNotFound(ref);
    if (await models.find(alias)) {
      // Selection tries aliases first, so this alias would hide the model of the same name.
      throw new ApiError(
        409,
        "invalid_request_error",
        "alias_shadows_model",
        `${alias} is a model's name; choose another alias`,
        "alias",
      );
    }
    await models.setAlias(alias, target.name, target.version);
    res.json({ alias, name: target.name, version: target.version ?? null });
  });
}
