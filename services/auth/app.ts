import type { Express } from "express";
import { z } from "zod";
import { notFound, unauthorized } from "../shared/errors.ts";
import { principalFrom } from "../shared/principal.ts";
import { jsonBody, parse } from "../shared/validation.ts";
import { generateKey } from "./keys.ts";
import type { KeyStore } from "./store.ts";

const verifyBody = z.object({ key: z.string().min(1).max(256) });
const createBody = z.object({ name: z.string().trim().min(1).max(100).default("unnamed") });
const keyId = z.string().regex(/^key_[0-9a-f]{32}$/, "must be a key id (key_...)");

/** The auth service's routes: key verification for the gateways, and a user's own keys. */
export function authRoutes(app: Express, keys: KeyStore): void {
  // Internal, for the gateway tier only (the router forwards nothing outside /v1).
  app.post("/internal/verify", ...jsonBody("4kb"), async (req, res) => {
    res.locals.route = "/internal/verify";
    const { key } = parse(verifyBody, req.body);
    const principal = await keys.verify(key);
    if (!principal) throw unauthorized("invalid API key");
    res.json({ principal });
  });

  app.get("/v1/auth/whoami", (req, res) => {
    res.locals.route = "/v1/auth";
    res.json({ principal: principalFrom(req.headers) });
  });

  app.get("/v1/auth/keys", async (req, res) => {
    res.locals.route = "/v1/auth";
    const { userId } = principalFrom(req.headers);
    res.json({ object: "list", data: await keys.list(userId) });
  });

  // The new key is in this answer only; afterwards just its hash exists.
  app.post("/v1/auth/keys", ...jsonBody("4kb"), async (req, res) => {
    res.locals.route = "/v1/auth";
    const { userId, plan } = principalFrom(req.headers);
    const { name } = parse(createBody, req.body);
    const key = generateKey();
    const record = await keys.add(userId, name, key, plan);
    res.status(201).json({ ...record, key });
  });

  app.delete("/v1/auth/keys/:id", async (req, res) => {
    res.locals.route = "/v1/auth";
    const { userId } = principalFrom(req.headers);
    const id = parse(keyId, req.params.id, "id");
    if (!(await keys.revoke(userId, id))) throw notFound("key_not_found", `no active key ${id}`);
    res.json({ id, revoked: true });
  });
}
