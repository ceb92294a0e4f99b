import { createHash } from "node:crypto";
import type { RequestHandler } from "express";
import type { Cache } from "../shared/cache.ts";
import { ApiError, unauthorized } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import { principalSchema, type Principal } from "../shared/principal.ts";
import { sendToReplicas, type ReplicaSet } from "../shared/upstream.ts";

const KEY_FORMAT = /^sk-[A-Za-z0-9_-]{20,200}$/;
/** A verdict is reused this long; a revoked key stops working within this time. */
export const VERDICT_TTL_SECONDS = 30;
/** Unknown keys are remembered briefly so that a flood of bad keys does not reach the auth service. */
const REJECTION_TTL_SECONDS = 5;

export interface Verifier {
  verify(key: string, requestId: string): Promise<Principal | null>;
}

/**
 * Verifies API keys with the auth service (directly, or through the tier that hosts it), caching
 * each verdict under the key's hash; the raw key is never stored or logged.
 */
export function createVerifier(opts: { auth: ReplicaSet; cache: Cache; logger: Logger }): Verifier {
  return {
    async verify(key, requestId) {
      if (!KEY_FORMAT.test(key)) return null;
      const cacheKey = `auth:verdict:${createHash("sha256").update(key).digest("hex")}`;
      const cached = await opts.cache.get(cacheKey).catch(() => undefined);
      if (cached !== undefined)
        return cached === "" ? null : principalSchema.parse(JSON.parse(cached));

      const up = await sendToReplicas(opts.auth, {
        method: "POST",
        path: "/internal/verify",
        headers: { "content-type": "application/json", "x-request-id": requestId },
        body: Buffer.from(JSON.stringify({ key })),
        retryable: true,
      });
      const text = await up.body.text();
      if (up.statusCode === 401) {
        await opts.cache.set(cacheKey, "", REJECTION_TTL_SECONDS).catch(() => undefined);
        return null;
      }
      if (up.statusCode !== 200) {
        throw new ApiError(
          503,
          "service_unavailable",
          "auth_unavailable",
          "cannot verify the API key now, retry later",
        );
      }
      const principal = principalSchema.parse(
        (JSON.parse(text) as { principal: unknown }).principal,
      );
      await opts.cache
        .set(cacheKey, JSON.stringify(principal), VERDICT_TTL_SECONDS)
        .catch((err: unknown) => opts.logger.warn({ err }, "verdict cache write failed"));
      return principal;
    },
  };
}

/** `Authorization: Bearer sk-...` to a principal on `res.locals.principal`, or a 401. */
export function requireApiKey(verifier: Verifier): RequestHandler {
  return async (req, res, next) => {
    const header = req.headers.authorization ?? "";
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) return next(unauthorized("missing API key: send Authorization: Bearer sk-..."));
    try {
      const principal = await verifier.verify(match[1]!, res.locals.ctx.requestId);
      if (!principal) return next(unauthorized("invalid API key"));
      res.locals.principal = principal;
      next();
    } catch (err) {
      next(
        err instanceof ApiError
          ? err
          : new ApiError(
              503,
              "service_unavailable",
              "auth_unavailable",
              "cannot verify the API key now, retry later",
            ),
      );
    }
  };
}

declare module "express-serve-static-core" {
  interface Locals {
    principal?: Principal;
  }
}
