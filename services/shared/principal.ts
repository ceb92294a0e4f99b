import type { RequestHandler } from "express";
import type { IncomingHttpHeaders } from "node:http";
import { z } from "zod";
import { ApiError, unauthorized } from "./errors.ts";
import { signParts, verifyParts } from "./signing.ts";

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
 * The gateway passes the verified principal to services in these headers, with a signature, and
 * strips any that a caller sent. A service believes them only when the signature checks out:
 * it is an HMAC with the stack's PRINCIPAL_SECRET over the headers, the request id and the time
 * of signing, so a principal made up by anything that reaches a service port is refused, and a
 * signed one works only for its own request id and for `PRINCIPAL_MAX_AGE_MS`.
 */
export const PRINCIPAL_HEADER_PREFIX = "x-principal-";
const headerOf = {
  userId: "x-principal-user",
  keyId: "x-principal-key",
  plan: "x-principal-plan",
  scopes: "x-principal-scopes",
  models: "x-principal-models",
} as const;
/** `t=<ms since the epoch>,s=<HMAC, base64url>`. */
export const PRINCIPAL_SIGNATURE_HEADER = "x-principal-signature";
/** How far a signature's time may be from the reader's clock, either way. */
export const PRINCIPAL_MAX_AGE_MS = 300_000;
const SIGNATURE = /^t=(\d{1,15}),s=([A-Za-z0-9_-]{43})$/;

const signedValues = (values: Record<string, string | undefined>) =>
  Object.values(headerOf).map((h) => values[h] ?? null);

export interface PrincipalSigning {
  secret: string;
  /** The request's id, as sent upstream in `x-request-id`. */
  requestId: string;
  /** Milliseconds since the epoch; the current time by default. */
  at?: number;
}

/** The principal's headers, signed for one request. */
export function principalHeaders(p: Principal, signing: PrincipalSigning): Record<string, string> {
  const headers: Record<string, string> = {
    [headerOf.userId]: p.userId,
    [headerOf.keyId]: p.keyId,
    [headerOf.plan]: p.plan,
    ...(p.scopes ? { [headerOf.scopes]: p.scopes.join(",") } : {}),
    ...(p.models ? { [headerOf.models]: p.models.join(",") } : {}),
  };
  const at = signing.at ?? Date.now();
  const mac = signParts(signing.secret, "principal", [
    signing.requestId,
    at,
    ...signedValues(headers),
  ]);
  return { ...headers, [PRINCIPAL_SIGNATURE_HEADER]: `t=${at},s=${mac}` };
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

/** The principal of a request whose signature checks out; a 401 otherwise. */
export function verifyPrincipal(
  headers: IncomingHttpHeaders,
  requestId: string,
  secret: string,
  now = Date.now(),
): Principal {
  const signature = SIGNATURE.exec(headerValue(headers[PRINCIPAL_SIGNATURE_HEADER]) ?? "");
  const values = Object.fromEntries(
    Object.values(headerOf).map((h) => [h, headerValue(headers[h])]),
  );
  const principal = readPrincipal(headers);
  if (
    !signature ||
    !principal ||
    Math.abs(now - Number(signature[1])) > PRINCIPAL_MAX_AGE_MS ||
    !verifyParts(
      secret,
      "principal",
      [requestId, Number(signature[1]), ...signedValues(values)],
      signature[2],
    )
  )
    throw unauthorized("the principal is not signed by a gateway of this stack");
  return principal;
}

const verified = new WeakMap<IncomingHttpHeaders, Principal>();

/**
 * Checks the principal of every request that carries one, before any route reads it: a request
 * with principal headers and no valid signature is answered 401, whatever its route.
 */
export function verifiedPrincipals(secret: string): RequestHandler {
  return (req, res, next) => {
    if (!Object.keys(req.headers).some((h) => h.startsWith(PRINCIPAL_HEADER_PREFIX))) return next();
    try {
      verified.set(req.headers, verifyPrincipal(req.headers, res.locals.ctx.requestId, secret));
      next();
    } catch (err) {
      next(err);
    }
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
 * calls for the same request (with the same `x-request-id`), which checks them in turn.
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
