import type { Express } from "express";
import { z } from "zod";
import { limitReached, notFound, unauthorized, unavailable } from "../shared/errors.ts";
import { isAdmin, principalFrom, requireAdmin, type Principal } from "../shared/principal.ts";
import { jsonBody, parse } from "../shared/validation.ts";
import { createBody, keyId, ownerQuery } from "./contract.ts";
import { generateKey } from "./keys.ts";
import type { Owners } from "./owners.ts";
import { KeyLimitReached, MAX_ACTIVE_KEYS_PER_USER, type KeyStore } from "./store.ts";

const verifyBody = z.object({ key: z.string().min(1).max(256) });
const revocationsBody = z.object({ since: z.iso.datetime().optional() }).strict();

/**
 * How far back a follower's first ask looks: past the gateways' freshness (30 s), so that a
 * gateway that starts, or restarts, evicts every verdict that may still be believed.
 */
const FIRST_LOOK_BACK_MS = 120_000;
/**
 * How far behind the clock each answer's `until` stays: a revocation committed late, or by a
 * replica whose clock is a little behind, still falls in the next ask (asked again, a hash costs
 * a follower one eviction, nothing more).
 */
const SETTLE_MS = 5_000;
/** Hashes in one answer; a follower asks again from the last one's time. */
const PAGE = 1_000;

/** Whose keys a request means: the caller's own, or (admins only) `userId`'s. */
function ownerOf(
  caller: Principal,
  userId: string | undefined,
  headers: Parameters<typeof requireAdmin>[0],
) {
  if (userId === undefined || userId === caller.userId) return caller.userId;
  requireAdmin(headers);
  return userId;
}

/** The auth service's routes: key verification for the gateways, and keys for their users. */
export function authRoutes(app: Express, keys: KeyStore, owners: Owners): void {
  // Internal, for the gateway tier only (the router forwards nothing outside /v1).
  app.post("/internal/verify", ...jsonBody("4kb"), async (req, res) => {
    res.locals.route = "/internal/verify";
    const { key } = parse(verifyBody, req.body);
    const found = await keys.verify(key);
    if (!found) throw unauthorized("invalid API key");
    const owner = await owners.lookup(found.userId, res.locals.ctx.requestId);
    if (owner.kind === "deleted") throw unauthorized("invalid API key");
    let plan = found.plan;
    if (owner.kind === "found" && owner.plan !== found.plan) {
      plan = owner.plan;
      await keys.recordPlan(found.userId, plan);
    }
    const principal: Principal = {
      userId: found.userId,
      keyId: found.keyId,
      plan,
      ...(found.scopes.length > 0 ? { scopes: found.scopes } : {}),
    };
    res.json({ principal });
  });

  // Internal: the gateways follow revocations, so that a revoked key stops working within a poll
  // rather than when their verdict on it expires (gateway/revocations.ts).
  app.post("/internal/revocations", ...jsonBody("1kb"), async (req, res) => {
    res.locals.route = "/internal/revocations";
    const { since } = parse(revocationsBody, req.body ?? {});
    const now = Date.now();
    const from = new Date(since ?? now - FIRST_LOOK_BACK_MS).toISOString();
    const revoked = await keys.revokedSince(from, PAGE);
    const settled = new Date(now - SETTLE_MS).toISOString();
    const until = revoked.length === PAGE ? revoked.at(-1)!.at : settled > from ? settled : from;
    res.json({ revoked: revoked.map((r) => r.hash), until });
  });

  app.get("/v1/auth/whoami", (req, res) => {
    res.locals.route = "/v1/auth";
    res.json({ principal: principalFrom(req.headers) });
  });

  app.get("/v1/auth/keys", async (req, res) => {
    res.locals.route = "/v1/auth";
    const caller = principalFrom(req.headers);
    const { userId } = parse(ownerQuery, req.query, "query");
    res.json({ object: "list", data: await keys.list(ownerOf(caller, userId, req.headers)) });
  });

  // The new key is in this answer only; afterwards just its hash exists.
  app.post("/v1/auth/keys", ...jsonBody("4kb"), async (req, res) => {
    res.locals.route = "/v1/auth";
    const caller = principalFrom(req.headers);
    const { name, userId, scopes } = parse(createBody, req.body);
    if (scopes) requireAdmin(req.headers);
    const owner = ownerOf(caller, userId, req.headers);
    let plan = caller.plan;
    if (owner !== caller.userId) {
      // A key for someone else needs them to exist, and starts with their plan.
      const found = await owners.lookup(owner, res.locals.ctx.requestId);
      if (found.kind === "unreachable")
        throw unavailable("user_unavailable", "cannot check the user now; retry shortly");
      if (found.kind !== "found") throw notFound("user_not_found", `no user ${owner}`);
      plan = found.plan;
    }
    const key = generateKey();
    let record;
    try {
      record = await keys.add(owner, name, key, plan, scopes, caller.keyId);
    } catch (err) {
      if (!(err instanceof KeyLimitReached)) throw err;
      throw limitReached(
        "key_limit_reached",
        `${owner} has ${MAX_ACTIVE_KEYS_PER_USER} live keys, the most a user may hold; revoke one first`,
      );
    }
    res.status(201).json({ ...record, key });
  });

  app.delete("/v1/auth/keys/:id", async (req, res) => {
    res.locals.route = "/v1/auth";
    const caller = principalFrom(req.headers);
    const id = parse(keyId, req.params.id, "id");
    // An admin revokes any key, e.g. a leaked one of another user; the keys it made go too.
    const revoked = await keys.revoke(isAdmin(caller) ? undefined : caller.userId, id);
    if (!revoked) throw notFound("key_not_found", `no active key ${id}`);
    res.json({ id, revoked: true });
  });
}
