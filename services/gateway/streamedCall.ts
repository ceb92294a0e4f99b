import { createHash } from "node:crypto";
import type { Agent } from "node:http";
import { request, type IncomingMessage } from "node:http";
import type { Readable } from "node:stream";
import { errors as undiciErrors } from "undici";
import {
  BODY_SIGNATURE_TRAILER,
  CALL_SIGNATURE_HEADER,
  signStreamedCall,
} from "../shared/callSignature.ts";
import { badRequest } from "../shared/errors.ts";
import { tooLarge } from "./requestBody.ts";

// An upload the gateway passes on as it arrives, holding none of it (issue #13, finding 6): the
// route's service checks the body itself (catalog `traffic.bodyTypes`), so the gateway has no
// reason to read it whole. undici cannot send request trailers, and the call's signature needs
// one (the body's digest is known only at its end, callSignature.ts `signStreamedCall`), so these
// calls go through node:http.

export interface StreamedCall {
  /** The replica's base URL. */
  url: string;
  agent: Agent;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Readable;
  /** The stack's PRINCIPAL_SECRET when the replica is the stack's own: the call is signed. */
  signWith: string | undefined;
  /** The route's byte cap: a chunked body that passes it is cut off with a 413. */
  maxBodyBytes: number;
  /** From the body's end to the answer's head. */
  firstByteMs: number;
  /** Between chunks of the answer. */
  idleMs: number;
  signal?: AbortSignal;
}

/**
 * Sends `call` and resolves with the answer's head; the caller reads the body. Errors keep the
 * meanings the retry and breaker policies give undici's (upstream.ts `neverSent`,
 * `brokenConnection`); a fault of the client's upload (cut off, too large) is an `ApiError`, which
 * counts against no replica.
 */
export function sendStreamed(call: StreamedCall): Promise<IncomingMessage> {
  const signature = call.signWith
    ? signStreamedCall(call.signWith, {
        method: call.method,
        target: call.path,
        headers: call.headers,
      })
    : undefined;
  const headers: Record<string, string> = {
    ...call.headers,
    "transfer-encoding": "chunked",
    ...(signature
      ? { [CALL_SIGNATURE_HEADER]: signature.head, trailer: BODY_SIGNATURE_TRAILER }
      : {}),
  };
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(new URL(call.path, call.url), {
      method: call.method,
      headers,
      agent: call.agent,
      signal: call.signal,
    });
    let settled = false;
    let bodySent = false;
    let firstByte: NodeJS.Timeout | undefined;
    const fail = (err: Error) => {
      clearTimeout(firstByte);
      // The view discards the rest of the upload (proxy.ts bodyViews), so an answer can go out.
      call.body.destroy();
      req.destroy();
      if (!settled) reject(err);
      settled = true;
    };
    // After the answer's head, a broken connection is the answer body's error, for the relay.
    req.on("error", fail);
    req.once("response", (res) => {
      settled = true;
      clearTimeout(firstByte);
      // An answer before the whole body (a refusal): the rest is not wanted, nor the connection.
      if (!bodySent) {
        call.body.destroy();
        res.once("end", () => req.destroy());
      }
      res.setTimeout(call.idleMs, () => res.destroy(new undiciErrors.BodyTimeoutError()));
      resolve(res);
    });
    // Nothing is taken from the client's body before the connection is up: a replica that refuses
    // it leaves the body whole for the next (upstream.ts `neverSent`).
    req.once("socket", (socket) => {
      if (socket.connecting) socket.once("connect", pump);
      else pump();
    });

    function pump() {
      const sha = createHash("sha256");
      let sent = 0;
      call.body.on("data", (chunk: Buffer) => {
        sent += chunk.length;
        if (sent > call.maxBodyBytes) return fail(tooLarge(call.maxBodyBytes));
        sha.update(chunk);
        if (!req.write(chunk)) call.body.pause();
      });
      req.on("drain", () => call.body.resume());
      call.body.once("error", () =>
        fail(badRequest("incomplete_body", "the request body was cut off before its end")),
      );
      call.body.once("end", () => {
        bodySent = true;
        if (signature)
          req.addTrailers({ [BODY_SIGNATURE_TRAILER]: signature.trailer(sha.digest()) });
        req.end();
        // The time to the first byte runs from the end of the body: until then, a slow upload is
        // the client's, which the server's own request time-out bounds (shared/http.ts).
        if (!settled)
          firstByte = setTimeout(
            () => fail(new undiciErrors.HeadersTimeoutError()),
            call.firstByteMs,
          );
      });
    }
  });
}
