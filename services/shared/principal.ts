import type { IncomingHttpHeaders } from "node:http";
import { z } from "zod";
import { unauthorized } from "./errors.ts";

/** Who is calling, as verified by the gateway from the API key. */
export const principalSchema = z.object({
  userId: z.string().min(1),
  keyId: z.string().min(1),
  plan: z.string().min(1),
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
} as const;

export function principalHeaders(p: Principal): Record<string, string> {
  return { [headerOf.userId]: p.userId, [headerOf.keyId]: p.keyId, [headerOf.plan]: p.plan };
}

/** The principal the gateway verified; a request without one did not come through a gateway. */
export function principalFrom(headers: IncomingHttpHeaders): Principal {
  const parsed = principalSchema.safeParse({
    userId: headers[headerOf.userId],
    keyId: headers[headerOf.keyId],
    plan: headers[headerOf.plan],
  });
  if (!parsed.success) throw unauthorized("no verified principal: call through the gateway");
  return parsed.data;
}
