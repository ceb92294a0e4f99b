import { createHash, randomUUID } from "node:crypto";
import { Agent, createServer, request } from "node:http";
import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import express from "express";
import { listenOnLoopback, TEST_PRINCIPAL_SECRET } from "../../test/support/serviceApp.ts";
import {
  BODY_SIGNATURE_TRAILER,
  CALL_SIGNATURE_HEADER,
  checkBody,
  signStreamedCall,
} from "../shared/callSignature.ts";
import { ApiError } from "../shared/errors.ts";
import { createApp, finishApp } from "../shared/http.ts";
import { createLogger } from "../shared/logger.ts";
import { createMetrics } from "../shared/metrics.ts";
import { bodyViews } from "../shared/proxy.ts";
import { sendStreamed, type StreamedCall } from "./streamedCall.ts";

// An upload the gateway streams to a service (finding 6 of issue #13) is still a call signed by
// the stack: its head is signed before the body is known, and the body's digest follows in a
// trailer bound to that head. A service believes the body only with that trailer, and a head
// replayed with another body is refused, as with a digest up front.

process.env["LOG_LEVEL"] ??= "silent";

const closers: Array<() => Promise<void> | void> = [];
const agent = new Agent({ keepAlive: true });
let serviceUrl: string;

beforeAll(async () => {
  const logger = createLogger("streamed");
  const app = createApp({
    logger,
    metrics: createMetrics("streamed"),
    ready: async () => ({}),
    principalSecret: TEST_PRINCIPAL_SECRET,
  });
  // As storage takes an upload: the raw body, checked against the call's signature.
  app.post(
    "/v1/files",
    express.raw({ type: () => true, limit: "4mb", verify: checkBody }),
    (req, res) => {
      res.json({
        sha256: createHash("sha256")
          .update(req.body as Buffer)
          .digest("hex"),
      });
    },
  );
  finishApp(app, logger);
  serviceUrl = await listenOnLoopback(createServer(app), closers);
});

afterAll(async () => {
  agent.destroy();
  for (const close of closers.reverse()) await close();
});

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

function call(body: Readable, more: Partial<StreamedCall> = {}): StreamedCall {
  return {
    url: serviceUrl,
    agent,
    method: "POST",
    path: "/v1/files",
    headers: { "content-type": "application/octet-stream", "x-request-id": randomUUID() },
    body,
    signWith: TEST_PRINCIPAL_SECRET,
    maxBodyBytes: 4 * 1024 * 1024,
    firstByteMs: 5_000,
    idleMs: 5_000,
    ...more,
  };
}

/** A chunked POST with the given head signature and trailer, as a forger would send it. */
function forged(head: string, body: Buffer, trailer?: string): Promise<number> {
  return new Promise((ok, fail) => {
    const req = request(`${serviceUrl}/v1/files`, {
      method: "POST",
      agent: false,
      headers: {
        "content-type": "application/octet-stream",
        "x-request-id": "forged-1",
        "transfer-encoding": "chunked",
        [CALL_SIGNATURE_HEADER]: head,
        ...(trailer ? { trailer: BODY_SIGNATURE_TRAILER } : {}),
      },
    });
    req.once("response", (res) => {
      res.resume();
      ok(res.statusCode ?? 0);
    });
    req.once("error", fail);
    req.write(body);
    if (trailer) req.addTrailers({ [BODY_SIGNATURE_TRAILER]: trailer });
    req.end();
  });
}

test("a streamed body arrives whole and is believed under its trailer", async () => {
  const data = Buffer.alloc(3 * 1024 * 1024 + 17, 0x62);
  const res = await sendStreamed(
    call(Readable.from([data.subarray(0, 1000), data.subarray(1000)])),
  );
  expect(res.statusCode).toBe(200);
  expect(JSON.parse(await text(res))).toEqual({ sha256: sha256(data) });
});

test("a signed head with another body, or with no trailer, is refused", async () => {
  const body = Buffer.from("the body that was signed");
  const signature = signStreamedCall(TEST_PRINCIPAL_SECRET, {
    method: "POST",
    target: "/v1/files",
    headers: { "x-request-id": "forged-1" },
  });
  const trailer = signature.trailer(createHash("sha256").update(body).digest());
  expect(await forged(signature.head, body, trailer)).toBe(200);
  expect(await forged(signature.head, Buffer.from("another body, same head"), trailer)).toBe(401);
  expect(await forged(signature.head, body)).toBe(401);
  // A trailer of another head (the digest is right, the binding is not).
  const other = signStreamedCall(TEST_PRINCIPAL_SECRET, {
    method: "POST",
    target: "/v1/files",
    headers: { "x-request-id": "forged-2" },
  });
  const otherTrailer = other.trailer(createHash("sha256").update(body).digest());
  expect(await forged(signature.head, body, otherTrailer)).toBe(401);
});

test("a refused connection takes nothing from the body: the next replica gets it whole", async () => {
  const closed: Array<() => Promise<void> | void> = [];
  const gone = await listenOnLoopback(createServer(), closed);
  for (const close of closed) await close();
  const views = bodyViews(Readable.from([Buffer.alloc(200 * 1024, 0x63)]));
  const refused = sendStreamed(call(views() as Readable, { url: gone }));
  await expect(refused).rejects.toMatchObject({ code: "ECONNREFUSED" });
  expect(views.replayable).toBe(true);
  const res = await sendStreamed(call(views() as Readable));
  expect(JSON.parse(await text(res))).toEqual({ sha256: sha256(Buffer.alloc(200 * 1024, 0x63)) });
  // Once read, a body larger than what the views keep cannot be sent again.
  expect(views.replayable).toBe(false);
});

test("a body past the cap is the client's 413, not a failure of the service", async () => {
  const big = Readable.from([Buffer.alloc(64 * 1024), Buffer.alloc(64 * 1024)]);
  const err = await sendStreamed(call(big, { maxBodyBytes: 100 * 1024 })).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ApiError);
  expect((err as ApiError).status).toBe(413);
});
