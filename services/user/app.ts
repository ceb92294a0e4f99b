import type { Express } from "express";
import { ApiError, badRequest, notFound } from "../shared/errors.ts";
import { listBody } from "../shared/pagination.ts";
import { isAdmin, principalFrom, requireAdmin } from "../shared/principal.ts";
import { jsonBody, parse } from "../shared/validation.ts";
import {
  createUserBody,
  listUsersQuery,
  planBody,
  planName,
  updateUserBody,
  userId,
} from "./contract.ts";
import type { UserStore, WriteRefusal } from "./store.ts";

function refused(reason: WriteRefusal, input: { id?: string; email?: string; plan?: string }) {
  switch (reason) {
    case "unknown_plan":
      return badRequest("unknown_plan", `plan: no plan named ${input.plan}`, "plan");
    case "email_taken":
      return new ApiError(
        409,
        "invalid_request_error",
        "email_taken",
        "email: already used",
        "email",
      );
    case "id_taken":
      return new ApiError(409, "invalid_request_error", "id_taken", `id: ${input.id} exists`, "id");
  }
}

const userNotFound = (id: string) => notFound("user_not_found", `no user ${id}`);

/**
 * The user service: plans (read by everyone, written by admins) and users (admins manage them;
 * a caller reads their own record). Admin is the `admin` scope of the caller's API key.
 */
export function userRoutes(app: Express, users: UserStore): void {
  // Internal, for quota (plan limits) and auth (a key owner's plan).
  app.get("/internal/plans/:name", async (req, res) => {
    res.locals.route = "/internal/plans";
    const name = parse(planName, req.params.name, "name");
    const plan = await users.plan(name);
    if (!plan) throw notFound("plan_not_found", `no plan ${name}`);
    res.json(plan);
  });

  app.get("/internal/users/:id", async (req, res) => {
    res.locals.route = "/internal/users";
    const id = parse(userId, req.params.id, "id");
    const found = await users.lookup(id);
    if (found.kind === "unknown") throw userNotFound(id);
    if (found.kind === "deleted")
      throw new ApiError(410, "not_found_error", "user_deleted", `user ${id} was deleted`);
    res.json(found.user);
  });

  app.get("/v1/users/plans", async (req, res) => {
    res.locals.route = "/v1/users";
    principalFrom(req.headers);
    res.json({ object: "list", data: await users.plans(), has_more: false });
  });

  app.get("/v1/users/plans/:name", async (req, res) => {
    res.locals.route = "/v1/users";
    principalFrom(req.headers);
    const name = parse(planName, req.params.name, "name");
    const plan = await users.plan(name);
    if (!plan) throw notFound("plan_not_found", `no plan ${name}`);
    res.json(plan);
  });

  app.put("/v1/users/plans/:name", ...jsonBody("16kb"), async (req, res) => {
    res.locals.route = "/v1/users";
    requireAdmin(req.headers);
    const name = parse(planName, req.params.name, "name");
    const body = parse(planBody, req.body);
    const created = await users.putPlan(name, body);
    res.status(created ? 201 : 200).json(await users.plan(name));
  });

  app.get("/v1/users/me", async (req, res) => {
    res.locals.route = "/v1/users";
    const { userId: id } = principalFrom(req.headers);
    const found = await users.lookup(id);
    if (found.kind !== "found") throw userNotFound(id);
    res.json(found.user);
  });

  app.get("/v1/users", async (req, res) => {
    res.locals.route = "/v1/users";
    requireAdmin(req.headers);
    res.json(listBody(await users.list(parse(listUsersQuery, req.query, "query"))));
  });

  app.post("/v1/users", ...jsonBody("16kb"), async (req, res) => {
    res.locals.route = "/v1/users";
    requireAdmin(req.headers);
    const input = parse(createUserBody, req.body);
    const result = await users.create(input);
    if (typeof result === "string") throw refused(result, input);
    res.status(201).json(result);
  });

  app.get("/v1/users/:id", async (req, res) => {
    res.locals.route = "/v1/users";
    const caller = principalFrom(req.headers);
    const id = parse(userId, req.params.id, "id");
    // Someone else's record is as invisible to a non-admin as a missing one.
    if (id !== caller.userId && !isAdmin(caller)) throw userNotFound(id);
    const found = await users.lookup(id);
    if (found.kind !== "found") throw userNotFound(id);
    res.json(found.user);
  });

  app.patch("/v1/users/:id", ...jsonBody("16kb"), async (req, res) => {
    res.locals.route = "/v1/users";
    requireAdmin(req.headers);
    const id = parse(userId, req.params.id, "id");
    const change = parse(updateUserBody, req.body);
    const result = await users.update(id, change);
    if (result === undefined) throw userNotFound(id);
    if (typeof result === "string") throw refused(result, change);
    res.json(result);
  });

  app.delete("/v1/users/:id", async (req, res) => {
    res.locals.route = "/v1/users";
    requireAdmin(req.headers);
    const id = parse(userId, req.params.id, "id");
    if (!(await users.remove(id))) throw userNotFound(id);
    res.json({ id, object: "user", deleted: true });
  });
}
