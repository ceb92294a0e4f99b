import { createHash } from "node:crypto";
import type { Request, RequestHandler, Response } from "express";
import type { Counter } from "prom-client";
import type { Cache } from "../shared/cache.ts";
import { ApiError, unauthorized } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import { principalSchema, type Principal } from "../shared/principal.ts";
import { signParts, verifyParts } from "../shared/signing.ts";
import { sendToReplicas, type ReplicaSet } from "../shared/upstream.ts";

export const KEY_FORMAT = /^sk-[A-Za-z0-9_-]{20,200}$/;
const BEARER = /^Bearer\s+(\S+)$/i;

/** A verdict younger than this is used as is; an older one is checked again with the auth service. */
export const VERDICT_FRESH_SECONDS = 30;
/**
 * How long a good verdict may still be served while the auth service cannot be reached (the
 * identity tier's fallback). It is also the longest a revoked key keeps working during an outage.
 */
export const VERDICT_STALE_SECONDS = 3_600;
/** Unknown keys are remembered briefly so that a flood of bad keys does not reach the auth service. */
const REJECTION_SECONDS = 5;

/** The API key in an `Authorization: Bearer ...` header, unchecked; undefined when there is none. */
export function bearerKey(header: string | undefined): string | undefined {
  return BEARER.exec(header ?? "")?.[1];
}

/** The name a key is stored and counted under: its SHA-256, so the raw key is never kept. */
export function keyHash(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/** The caller's API key as sent, and its hash (`keyHash`). */
export interface CallerKey {
  key: string;
  hash: string;
}

/**
 * The caller's key, read and hashed once per request: the rate limiter counts it and the
 * verifier looks its verdict up under the same hash, and a SHA-256 each was measurable.
 */
export function callerKey(req: Request, res: Response): CallerKey | undefined {
  if (res.locals.apiKey === undefined) {
    const key = bearerKey(req.headers.authorization);
    res.locals.apiKey = key === undefined ? null : { key, hash: keyHash(key) };
  }
  return res.locals.apiKey ?? undefined;
}

/** What the auth service answered: only the status and the body text matter here. */
export interface AuthAnswer {
  statusCode: number;
  body: { text(): Promise<string> };
}

/**
 * Sends one verification request to the auth service. Any error it throws (no replica, breaker
 * open, time-out) means "unreachable", as does a 5xx answer.
 */
export type AuthCall = (req: {
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}) => Promise<AuthAnswer>;

/** An `AuthCall` straight to a replica set, with failover across its replicas. */
export function replicaSetCall(set: ReplicaSet): AuthCall {
  return (req) => sendToReplicas(set, { method: "POST", ...req, retryable: true });
}

export interface VerifierArgs {
  /** The auth service: its replica set, or a call through a client with breaker and retries. */
  auth: ReplicaSet | AuthCall;
  /** Where verdicts are kept: Redis in a deployment, so that every replica of the tier shares them. */
  cache: Cache;
  /**
   * PRINCIPAL_SECRET: each kept verdict is signed, and one whose signature fails is not believed,
   * so that whatever else can write to the store cannot plant a principal for a key.
   */
  secret: string;
  logger: Logger;
  /** `gateway_fallback_total{upstream, kind}`: counts each stale verdict served. */
  fallbacks?: Counter<"upstream" | "kind">;
  /** Defaults: `VERDICT_FRESH_SECONDS` and `VERDICT_STALE_SECONDS`. */
  freshSeconds?: number;
  staleSeconds?: number;
  /** Milliseconds since the epoch; tests move it. */
  now?: () => number;
  /** Fresh verdicts each replica keeps in memory. Default 10 000. */
  localEntries?: number;
}

export interface Verifier {
  /** `hash` is the key's `keyHash`, when the caller has it already. */
  verify(key: string, requestId: string, hash?: string): Promise<Principal | null>;
  /** The verdict this replica holds fresh in memory for the key of `hash`, if any. */
  remembered(hash: string): Principal | null | undefined;
  /** Drops every verdict kept on these keys (revoked ones), here and in the tier's store. */
  forget(hashes: readonly string[]): Promise<void>;
}

/** A cached verdict: `principal` is null for a key the auth service did not know. */
interface Verdict {
  principal: Principal | null;
  verifiedAt: number;
}

function unavailable(): ApiError {
  return new ApiError(
    503,
    "service_unavailable",
    "auth_unavailable",
    "cannot verify the API key now, retry later",
  );
}

/**
 * Verifies API keys with the auth service (directly, or through the tier that hosts it), caching
 * each verdict under the key's hash. A good verdict is fresh for `freshSeconds`; after that the key
 * is verified again, and if the auth service cannot be reached the last good verdict is served
 * for up to `staleSeconds`. A rejection is kept `REJECTION_SECONDS` and never stands in for a
 * good verdict.
 */
export function createVerifier(args: VerifierArgs): Verifier {
  const call = typeof args.auth === "function" ? args.auth : replicaSetCall(args.auth);
  const now = args.now ?? Date.now;
  const freshMs = (args.freshSeconds ?? VERDICT_FRESH_SECONDS) * 1000;
  const staleMs = (args.staleSeconds ?? VERDICT_STALE_SECONDS) * 1000;
  // A fresh verdict is the same on every replica (it carries its verification time), so each
  // replica keeps the ones it has seen: a request whose key was verified in the last
  // `freshSeconds` costs no Redis round trip and no parsing. Revocation waits no longer than it
  // did, since the freshness is counted from the same moment.
  const local = new Map<string, Verdict>();
  const localEntries = args.localEntries ?? 10_000;
  const isFresh = (v: Verdict, at: number) =>
    at - v.verifiedAt < (v.principal ? freshMs : REJECTION_SECONDS * 1000);
  const keep = (cacheKey: string, v: Verdict) => {
    local.delete(cacheKey);
    local.set(cacheKey, v);
    if (local.size > localEntries) local.delete(local.keys().next().value!);
  };

  // The entry's key is signed with it: a verdict copied under another key's entry fails.
  const signed = (cacheKey: string, principal: unknown, verifiedAt: unknown) => [
    cacheKey,
    principal,
    verifiedAt,
  ];

  async function cached(cacheKey: string): Promise<Verdict | undefined> {
    const text = await args.cache.get(cacheKey).catch(() => undefined);
    if (text === undefined) return undefined;
    try {
      const raw = JSON.parse(text) as { principal: unknown; verifiedAt: unknown; mac: unknown };
      if (typeof raw.verifiedAt !== "number") return undefined;
      if (
        !verifyParts(
          args.secret,
          "verdict",
          signed(cacheKey, raw.principal, raw.verifiedAt),
          raw.mac,
        )
      ) {
        args.logger.warn("a kept verdict is not signed by this stack: ignored");
        return undefined;
      }
      const principal = raw.principal === null ? null : principalSchema.parse(raw.principal);
      return { principal, verifiedAt: raw.verifiedAt };
    } catch {
      return undefined;
    }
  }

  async function remember(cacheKey: string, verdict: Verdict, ttlSeconds: number): Promise<void> {
    const mac = signParts(
      args.secret,
      "verdict",
      signed(cacheKey, verdict.principal, verdict.verifiedAt),
    );
    await args.cache
      .set(cacheKey, JSON.stringify({ ...verdict, mac }), ttlSeconds)
      .catch((err: unknown) => args.logger.warn({ err }, "verdict cache write failed"));
  }

  /** The auth service's verdict, or undefined when it cannot give one now. */
  async function ask(key: string, requestId: string): Promise<Principal | null | undefined> {
    let answer: AuthAnswer;
    let text: string;
    try {
      answer = await call({
        path: "/internal/verify",
        headers: { "content-type": "application/json", "x-request-id": requestId },
        body: Buffer.from(JSON.stringify({ key })),
      });
      text = await answer.body.text();
    } catch (err) {
      args.logger.warn({ err, requestId }, "auth service unreachable");
      return undefined;
    }
    if (answer.statusCode === 401) return null;
    if (answer.statusCode !== 200) {
      args.logger.warn({ status: answer.statusCode, requestId }, "auth service failed");
      return undefined;
    }
    return principalSchema.parse((JSON.parse(text) as { principal: unknown }).principal);
  }

  const entryOf = (hash: string) => `auth:verdict:v2:${hash}`;

  return {
    async forget(hashes) {
      for (const hash of hashes) local.delete(entryOf(hash));
      await Promise.all(
        hashes.map((hash) =>
          args.cache
            .del(entryOf(hash))
            .catch((err: unknown) => args.logger.warn({ err }, "verdict cache delete failed")),
        ),
      );
    },
    remembered(hash) {
      const memo = local.get(entryOf(hash));
      return memo && isFresh(memo, now()) ? memo.principal : undefined;
    },
    async verify(key, requestId, hash) {
      if (!KEY_FORMAT.test(key)) return null;
      // v2: entries carry their verification time (v1 held a bare principal with a short TTL).
      const cacheKey = entryOf(hash ?? keyHash(key));
      const memo = local.get(cacheKey);
      if (memo && isFresh(memo, now())) return memo.principal;
      const previous = await cached(cacheKey);
      const age = previous ? now() - previous.verifiedAt : Infinity;
      if (previous && isFresh(previous, now())) {
        keep(cacheKey, previous);
        return previous.principal;
      }

      const principal = await ask(key, requestId);
      if (principal === undefined) {
        if (previous?.principal && age < staleMs) {
          args.fallbacks?.inc({ upstream: "auth", kind: "auth-stale-verdict" });
          args.logger.warn(
            { requestId, keyId: previous.principal.keyId, ageSeconds: Math.round(age / 1000) },
            "auth unreachable: serving a stale verdict",
          );
          return previous.principal;
        }
        throw unavailable();
      }
      const verdict = { principal, verifiedAt: now() };
      await remember(cacheKey, verdict, principal ? Math.ceil(staleMs / 1000) : REJECTION_SECONDS);
      keep(cacheKey, verdict);
      return principal;
    },
  };
}

/** `Authorization: Bearer sk-...` to a principal on `res.locals.principal`, or a 401. */
export function requireApiKey(verifier: Verifier): RequestHandler {
  return (req, res, next) => {
    const caller = callerKey(req, res);
    if (!caller) return next(unauthorized("missing API key: send Authorization: Bearer sk-..."));
    // A verdict fresh in this replica's memory, the case of nearly every request, admits or
    // refuses at once: no promise and no turn of the event loop per request.
    const known = verifier.remembered(caller.hash);
    if (known !== undefined) return admit(known, res, next);
    verifier.verify(caller.key, res.locals.ctx.requestId, caller.hash).then(
      (principal) => admit(principal, res, next),
      (err: unknown) => next(err instanceof ApiError ? err : unavailable()),
    );
  };
}

function admit(principal: Principal | null, res: Response, next: (err?: unknown) => void): void {
  if (!principal) return next(unauthorized("invalid API key"));
  res.locals.principal = principal;
  next();
}

declare module "express-serve-static-core" {
  interface Locals {
    principal?: Principal;
    /** The caller's key (`callerKey`): null once read and found missing. */
    apiKey?: CallerKey | null;
  }
}
