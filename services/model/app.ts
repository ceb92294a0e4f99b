import type { Express } from "express";
import { ApiError } from "../shared/errors.ts";
import { jsonBody, parse } from "../shared/validation.ts";
import { aliasBody, modelName, registerModelBody, selectBody } from "./contract.ts";
import { SourceConflict, type ModelStore } from "./store.ts";

/** No model answers to the name: a 400 naming `model`, as DeepSeek answers an unknown model. */
export function modelNotFound(requested: string): ApiError {
  return new ApiError(
    400,
    "invalid_request_error",
    "model_not_found",
    `the model ${JSON.stringify(requested)} does not exist; GET /v1/models lists the models`,
    "model",
  );
}

/**
 * The registry's internal API. The service has no public route (catalog): only its domain's
 * services that list it in `calls` reach it, so these paths carry no principal.
 */
export function modelRoutes(app: Express, models: ModelStore): void {
  app.get("/internal/models", async (_req, res) => {
    res.locals.route = "/internal/models";
    res.json(await models.list());
  });

  app.post("/internal/select", ...jsonBody("4kb"), async (req, res) => {
    res.locals.route = "/internal/select";
    const { model } = parse(selectBody, req.body);
    const selection = await models.select(model);
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
