import type { RequestHandler } from "express";
import type { IncomingHttpHeaders } from "node:http";
import { z } from "zod";
import {
  CALL_SIGNATURE_HEADER,
  PRINCIPAL_HEADER_PREFIX,
  notSignedByStack,
  verifyCallHead,
} from "./callSignature.ts";
import { ApiError, unauthorized } from "./errors.ts";

/** Who is calling, as verified by the gateway from the API key. */
export const principalSchema = z.object({
  userId: z.string().min(1),
  keyId: z.string().min(1),
  plan: z.string().min(1),
  /**
   * What the key may do beyond its owner's own resources: `admin` (manage users, plans and other
   * users' keys). Absent for an ordinary key, so that its principal keeps its original shape.
   */
  scopes: z
    .array(z.enum(["admin"]))
    .min(1)
    .optional(),
  /**
   * The models the caller's plan allows, as the quota step learned them; absent when it allows
   * every model or when the route has no quota step.
   */
  models: z.array(z.string().min(1)).min(1).optional(),
});
export type Principal = z.infer<typeof principalSchema>;

/**
 * The gateway passes the verified principal to services in these headers, and strips any that a
 * caller sent. A service believes them only under the call's signature (callSignature.ts), which
 * covers them with the request itself: a principal made up by anything that reaches a service
 * port is refused, and a signed one works only for the request it was signed for.
 */
export { PRINCIPAL_HEADER_PREFIX };
const headerOf = {
  userId: "x-principal-user",
  keyId: "x-principal-key",
  plan: "x-principal-plan",
  scopes: "x-principal-scopes",
  models: "x-principal-models",
} as const;

/** The principal's headers; the call that carries them is signed as it is sent (upstream.ts). */
export function principalHeaders(p: Principal): Record<string, string> {
  return {
    [headerOf.userId]: p.userId,
    [headerOf.keyId]: p.keyId,
    [headerOf.plan]: p.plan,
    ...(p.scopes ? { [headerOf.scopes]: p.scopes.join(",") } : {}),
    ...(p.models ? { [headerOf.models]: p.models.join(",") } : {}),
  };
}

/** The principal in `headers`, unverified: for what a signature of another kind covers already. */
export function readPrincipal(headers: IncomingHttpHeaders): Principal | undefined {
  const parsed = principalSchema.safeParse({
    userId: headers[headerOf.userId],
    keyId: headers[headerOf.keyId],
    plan: headers[headerOf.plan],
    scopes: headerValue(headers[headerOf.scopes])?.split(","),
    models: headerValue(headers[headerOf.models])?.split(","),
  });
  return parsed.success ? parsed.data : undefined;
}

const verified = new WeakMap<IncomingHttpHeaders, Principal>();

/**
 * Checks, before any route reads it, every request that claims something: a call signature, a
 * principal, or an `/internal/*` route. Unless the call is signed by this stack for this very
 * request, it is answered 401, whatever its route; its principal, if any, is then believed.
 */
export function signedCallsOnly(secret: string): RequestHandler {
  return (req, res, next) => {
    const principalSent = Object.keys(req.headers).some((h) =>
      h.startsWith(PRINCIPAL_HEADER_PREFIX),
    );
    if (
      !principalSent &&
      req.headers[CALL_SIGNATURE_HEADER] === undefined &&
      !res.locals.url.path.startsWith("/internal/")
    )
      return next();
    if (!verifyCallHead(req, res.locals.url.url, secret)) return next(notSignedByStack());
    if (principalSent) {
      const principal = readPrincipal(req.headers);
      if (!principal) return next(notSignedByStack());
      verified.set(req.headers, principal);
    }
    next();
  };
}

/** The principal the gateway signed; a request without one did not come through a gateway. */
export function principalFrom(headers: IncomingHttpHeaders): Principal {
  const principal = verified.get(headers);
  if (!principal) throw unauthorized("no verified principal: call through the gateway");
  return principal;
}

/**
 * The principal headers of a verified request as they came, to pass on to a service this one
 * calls for the same request (with the same `x-request-id`); that call is signed as it is sent.
 */
export function principalToPassOn(headers: IncomingHttpHeaders): Record<string, string> {
  principalFrom(headers);
  return Object.fromEntries(
    Object.entries(headers).flatMap(([h, v]) =>
      h.startsWith(PRINCIPAL_HEADER_PREFIX) && v !== undefined ? [[h, headerValue(v)!]] : [],
    ),
  );
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(",") : v;
}

export function isAdmin(p: Principal): boolean {
  return p.scopes?.includes("admin") ?? false;
}

/** The caller's principal, which must carry the `admin` scope (else a 403). */
export function requireAdmin(headers: IncomingHttpHeaders): Principal {
  const p = principalFrom(headers);
  if (!isAdmin(p)) {
    throw new ApiError(403, "permission_error", "admin_required", "this needs an admin API key");
  }
  return p;
}
