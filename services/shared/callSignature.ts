import { createHash } from "node:crypto";
import type { RequestHandler } from "express";
import type { IncomingMessage } from "node:http";
import { unauthorized } from "./errors.ts";
import { parseTarget } from "./requestTarget.ts";
import { signParts, verifyParts } from "./signing.ts";

// Every call between the stack's own processes (a gateway to a service, a service to another,
// a gateway to the tier that hosts auth or quota) carries `x-call-signature`: an HMAC with the
// stack's PRINCIPAL_SECRET over the request itself (method, normalised target, a SHA-256 of the
// body), its request id, the time of signing and the principal headers, if any. A service
// believes a principal only under it, and answers its `/internal/*` routes only to it: reaching
// a port is not enough to act as a user, or as the stack.
//
// Why bound replay this way rather than with a nonce remembered in Redis: a signature that a
// listener on the network picks up works for that very request only (same method, target, body
// and request id) and for `CALL_MAX_AGE_MS`: it can repeat it, as the gateway's own retries and
// failover do anyway (a write with an idempotency key is done once however often it comes), but
// never turn a read into a write, change a body, reach another route or act later. A nonce would
// refuse those legitimate repeats too, cost a Redis round trip on every hop, and hold only where
// every replica shares one Redis (`npm start` without one would check nothing across replicas).

export const CALL_SIGNATURE_HEADER = "x-call-signature";
/** How far a signature's time may be from the reader's clock, either way. */
export const CALL_MAX_AGE_MS = 300_000;
/** The headers a signature covers besides the request itself: who the call is for (principal.ts). */
export const PRINCIPAL_HEADER_PREFIX = "x-principal-";
/**
 * A gateway streams an upload through without holding it (services/gateway/streamedCall.ts), so
 * it cannot know the body's digest when it sends the head. The head is signed with this in place
 * of the digest, and the body's digest follows in the trailer `x-call-body-signature`, bound to
 * the head's signature: a body changed in transit, or a head replayed with another body, fails
 * as it would with the digest up front.
 */
export const STREAMED_BODY = "trailer";
/**
 * `t=<ms since the epoch>,b=<SHA-256 of the body>,s=<HMAC>`, both base64url; `b=trailer` for a
 * body streamed through (STREAMED_BODY), whose digest comes after it, in a signed trailer.
 */
const SIGNATURE = new RegExp(
  `^t=(\\d{1,15}),b=([A-Za-z0-9_-]{43}|${STREAMED_BODY}),s=([A-Za-z0-9_-]{43})$`,
);
export const BODY_SIGNATURE_TRAILER = "x-call-body-signature";
/** `b=<SHA-256 of the body>,s=<HMAC over the head's signature and that digest>`. */
const BODY_SIGNATURE = /^b=([A-Za-z0-9_-]{43}),s=([A-Za-z0-9_-]{43})$/;

const bodyDigest = (body: Buffer | undefined): string =>
  createHash("sha256")
    .update(body ?? Buffer.alloc(0))
    .digest("base64url");
const EMPTY_BODY = bodyDigest(undefined);

export interface SignedCall {
  method: string;
  /** The request target as sent: path and query. */
  target: string;
  headers: Record<string, string | string[] | undefined>;
  body?: Buffer;
}

function parts(call: SignedCall, at: number, digest: string): unknown[] {
  return [
    header(call.headers["x-request-id"]) ?? null,
    at,
    call.method.toUpperCase(),
    // What the receiver reads (requestTarget.ts): `%7e` and `~` are one target.
    parseTarget(call.target).url,
    digest,
    // Every principal header there is, by name: one added, dropped or changed breaks the MAC.
    ...Object.keys(call.headers)
      .filter((h) => h.startsWith(PRINCIPAL_HEADER_PREFIX))
      .sort()
      .map((h) => [h, header(call.headers[h]) ?? null]),
  ];
}

/** The `x-call-signature` value for one call, signed now (or `at`). */
export function signCall(secret: string, call: SignedCall, at = Date.now()): string {
  // Most calls are reads: the empty body's digest is known, not hashed again per call.
  const digest = call.body?.length ? bodyDigest(call.body) : EMPTY_BODY;
  return `t=${at},b=${digest},s=${signParts(secret, "call", parts(call, at, digest))}`;
}

/**
 * The signature of a call whose body is streamed: `head` for `x-call-signature`, and `trailer`,
 * given the body's SHA-256 once it is all sent, for the `x-call-body-signature` trailer.
 */
export function signStreamedCall(
  secret: string,
  call: Omit<SignedCall, "body">,
  at = Date.now(),
): { head: string; trailer: (bodySha256: Buffer) => string } {
  const mac = signParts(secret, "call", parts(call, at, STREAMED_BODY));
  return {
    head: `t=${at},b=${STREAMED_BODY},s=${mac}`,
    trailer: (sha) => {
      const digest = sha.toString("base64url");
      return `b=${digest},s=${signParts(secret, "call-body", [mac, digest])}`;
    },
  };
}

interface Verdict {
  /** The SHA-256 the signer gave of the body (or STREAMED_BODY); the body, once read, must match. */
  digest: string;
  /** For a streamed body: the head's HMAC and the secret, to check the trailer against. */
  streamed?: { mac: string; secret: string };
}
const verdicts = new WeakMap<IncomingMessage, Verdict>();

/**
 * Whether `req` carries a call signature of this stack for this very request (`target`: the
 * normalised one). Its body is not read here: the body parsers check it (`checkBody`).
 */
export function verifyCallHead(req: IncomingMessage, target: string, secret: string): boolean {
  const m = SIGNATURE.exec(header(req.headers[CALL_SIGNATURE_HEADER]) ?? "");
  if (!m) return false;
  const at = Number(m[1]);
  if (Math.abs(Date.now() - at) > CALL_MAX_AGE_MS) return false;
  const call = { method: req.method ?? "GET", target, headers: req.headers };
  if (!verifyParts(secret, "call", parts(call, at, m[2]!), m[3])) return false;
  // A request without a body must have been signed without one; a body is checked as read.
  const hasBody =
    Number(req.headers["content-length"] ?? 0) > 0 ||
    req.headers["transfer-encoding"] !== undefined;
  if (!hasBody && m[2] !== EMPTY_BODY) return false;
  verdicts.set(
    req,
    m[2] === STREAMED_BODY ? { digest: m[2], streamed: { mac: m[3]!, secret } } : { digest: m[2]! },
  );
  return true;
}

export const notSignedByStack = () => unauthorized("the call is not signed by this stack");

/**
 * The `verify` hook of express's body parsers: a signed call's body must be the one signed. The
 * parser turns what this throws into its own error (type `entity.verify.failed`, this status),
 * which the error handler answers as the 401 of `notSignedByStack` (http.ts).
 */
export function checkBody(req: IncomingMessage, _res: unknown, body: Buffer): void {
  const verdict = verdicts.get(req);
  if (!verdict) return;
  const digest = bodyDigest(body);
  const signed = verdict.streamed
    ? streamedDigest(req, verdict.streamed) === digest
    : verdict.digest === digest;
  if (!signed) throw Object.assign(new Error("the body is not the one signed"), { status: 401 });
}

/** The digest a streamed call's trailer vouches for, if the trailer is this call's. */
function streamedDigest(
  req: IncomingMessage,
  head: { mac: string; secret: string },
): string | undefined {
  // The body parsers call checkBody once the body has ended, when Node has read the trailers.
  const m = BODY_SIGNATURE.exec(header(req.trailers[BODY_SIGNATURE_TRAILER]) ?? "");
  if (!m || !verifyParts(head.secret, "call-body", [head.mac, m[1]], m[2])) return undefined;
  return m[1];
}

/** A 401 unless `req` is a call signed by this stack: for `/internal/*` of the gateways. */
export function requireSignedCall(secret: string): RequestHandler {
  return (req, res, next) => {
    if (!verifyCallHead(req, res.locals.url.url, secret)) return next(notSignedByStack());
    next();
  };
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(",") : v;
}
