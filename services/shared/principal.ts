import type { IncomingHttpHeaders } from "node:http";
import { z } from "zod";
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
 * The gateway passes the verified principal to services in these headers and strips any that a
 * caller sent, so services trust them (services are reachable only from their gateway tier).
 */
export const PRINCIPAL_HEADER_PREFIX = "x-principal-";
const headerOf = {
  userId: "x-principal-user",
  keyId: "x-principal-key",
  plan: "x-principal-plan",
  scopes: "x-principal-scopes",
  models: "x-principal-models",
} as const;

export function principalHeaders(p: Principal): Record<string, string> {
  return {
    [headerOf.userId]: p.userId,
    [headerOf.keyId]: p.keyId,
    [headerOf.plan]: p.plan,
    ...(p.scopes ? { [headerOf.scopes]: p.scopes.join(",") } : {}),
    ...(p.models ? { [headerOf.models]: p.models.join(",") } : {}),
  };
}

/** The principal the gateway verified; a request without one did not come through a gateway. */
export function principalFrom(headers: IncomingHttpHeaders): Principal {
  const parsed = principalSchema.safeParse({
    userId: headers[headerOf.userId],
    keyId: headers[headerOf.keyId],
    plan: headers[headerOf.plan],
    scopes: headerValue(headers[headerOf.scopes])?.split(","),
    models: headerValue(headers[headerOf.models])?.split(","),
  });
  if (!parsed.success) throw unauthorized("no verified principal: call through the gateway");
  return parsed.data;
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
