import type { ServerResponse } from "node:http";
import { defaultCatalog } from "../../platform/catalog/default.ts";
import { validateCatalog } from "../../platform/catalog/index.ts";
import { admitEveryone, businessGateway, standIn } from "../../test/support/businessGateway.ts";

// The bytes of request bodies one gateway replica holds at once are bounded (finding 6 of issue
// #13): past the bound a caller is told to come back (503, Retry-After, the API's JSON), and
// what an answered request held is given back. Uploads of a type the service checks itself
// (multipart to /v1/files) are streamed through and hold none of it. The bound is set small
// here, as GATEWAY_BUFFERED_BODY_BYTES lets a deployment set it.

process.env["LOG_LEVEL"] ??= "silent";

const KEY = "sk-test_budget_key_0123456789abcdef";
const BUDGET = 256 * 1024;
const closers: Array<() => Promise<void> | void> = [];
let gatewayUrl: string;
/** Requests the held stand-in has received whole and not answered yet. */
const held: ServerResponse[] = [];
let arrived: (() => void) | undefined;
/** Resolves when the held stand-in has the next request whole. */
const nextArrival = () => new Promise<void>((ok) => (arrived = ok));
/**
 * Sends a request that the held stand-in is to receive, and waits until it has: an answer that
 * comes first (the gateway refused or failed it) fails the test at once with what it said,
 * rather than after the test's time-out.
 */
async function reaching(send: () => Promise<Response>): Promise<{ answer: Promise<Response> }> {
  const reached = nextArrival();
  const answer = send();
  const early = answer.then(async (res) => {
    throw new Error(`answered ${res.status} before reaching the service: ${await res.text()}`);
  });
  await Promise.race([reached, early]);
  early.catch(() => undefined);
  // Wrapped: an async function that returned the promise itself would wait for the answer.
  return { answer };
}

beforeAll(async () => {
  const input = structuredClone(defaultCatalog);
  // The held services answer only when a test says so, which on a loaded CI machine may come
  // after the routes' 10 s first-byte time-out, and the gateway then answers its degraded 503:
  // a held upload got one there once, in a run whose file took 12 s.
  for (const name of ["storage", "monitoring"]) {
    const spec = input.services[name]!;
    spec.traffic = { ...spec.traffic, timeouts: { firstByteMs: 120_000, idleMs: 120_000 } };
  }
  // Monitoring and storage answer only when the test says so: until then the gateway holds a
  // buffered body. The other services are the auth stand-in, which answers anything.
  const heldService = await standIn((req, res) => {
    // The gateway's health checks (GET /readyz every second) are answered at once: held, one
    // would count as the arrival of the request a test waits for, whenever a test spans a check.
    if (req.method === "GET") return void res.end("{}");
    req.resume();
    req.once("end", () => {
      held.push(res);
      arrived?.();
    });
  }, closers);
  const anything = await admitEveryone(closers);
  gatewayUrl = await businessGateway({
    catalog: validateCatalog(input),
    upstreamOf: (s) => (s === "storage" || s === "monitoring" ? heldService : anything),
    closers,
    options: { bufferedBodyBytes: BUDGET },
  });
});

afterAll(async () => {
  for (const res of held) res.end();
  for (const close of closers.reverse()) await close();
});

const post = (path: string, contentType: string, body: Buffer) =>
  fetch(`${gatewayUrl}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}`, "content-type": contentType },
    body,
  });
/** A JSON body of about `bytes`, to a route whose service takes any JSON: the gateway reads it. */
const buffered = (bytes: number) =>
  post(
    "/v1/monitoring",
    "application/json",
    Buffer.from(JSON.stringify({ pad: "a".repeat(bytes) })),
  );
/** A multipart upload: the gateway streams it to storage. */
const upload = (bytes: number) =>
  post("/v1/files", "multipart/form-data; boundary=x", Buffer.alloc(bytes, 0x61));

test("past the budget of held bodies: a JSON 503 with Retry-After; answered, the bytes come back", async () => {
  const { answer: first } = await reaching(() => buffered(200 * 1024));

  // The first body's 200 KiB are held until it is answered: 200 more would pass the 256 KiB.
  const refused = await buffered(200 * 1024);
  expect(refused.status).toBe(503);
  expect(refused.headers.get("retry-after")).toBe("1");
  // Refused before any service had it: a client may send even an unkeyed write again.
  expect(refused.headers.get("x-request-processed")).toBe("false");
  expect(((await refused.json()) as { error: unknown }).error).toMatchObject({
    code: "server_busy",
    type: "service_unavailable",
  });
  // What fits beside it still goes through.
  const { answer: small } = await reaching(() => buffered(8 * 1024));
  held.pop()!.end("{}");
  expect((await small).status).toBe(200);

  held.shift()!.end("{}");
  expect((await first).status).toBe(200);
  const { answer: again } = await reaching(() => buffered(200 * 1024));
  held.shift()!.end("{}");
  expect((await again).status).toBe(200);
});

test("uploads are streamed through: three of 1 MiB in flight together, beside a held JSON body", async () => {
  const { answer: json } = await reaching(() => buffered(48 * 1024));
  // Read whole by the gateway, these would need 3 MiB of a 256 KiB budget; streamed, each takes
  // only the 64 KiB the gateway may keep of it for a retry.
  const uploads: Array<Promise<Response>> = [];
  for (let i = 0; i < 3; i++) uploads.push((await reaching(() => upload(1024 * 1024))).answer);
  expect(held).toHaveLength(4);
  for (const res of held.splice(0)) res.end("{}");
  expect((await json).status).toBe(200);
  expect((await Promise.all(uploads)).map((r) => r.status)).toEqual([200, 200, 200]);
});

test("what the gateway keeps of a streamed upload counts: a fifth beside four is refused", async () => {
  const uploads: Array<Promise<Response>> = [];
  for (let i = 0; i < 4; i++) uploads.push((await reaching(() => upload(1024 * 1024))).answer);
  // 4 x 64 KiB fill the 256 KiB budget: a fifth is told to come back.
  const refused = await upload(1024 * 1024);
  expect([refused.status, refused.headers.get("retry-after")]).toEqual([503, "1"]);
  for (const res of held.splice(0)) res.end("{}");
  expect((await Promise.all(uploads)).map((r) => r.status)).toEqual([200, 200, 200, 200]);
});

test("a streamed upload over the route's cap without a length is cut off with a JSON 413", async () => {
  const max = 8 * 1024 * 1024 + 64 * 1024;
  const chunk = Buffer.alloc(1024 * 1024, 0x61);
  let sent = 0;
  const res = await fetch(`${gatewayUrl}/v1/files`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}`, "content-type": "multipart/form-data; boundary=x" },
    // A stream has no length to announce: the gateway finds the excess as it passes.
    body: new ReadableStream({
      pull(controller) {
        if (sent > max) return controller.close();
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    }),
    duplex: "half",
  } as RequestInit);
  expect(res.status).toBe(413);
  expect(((await res.json()) as { error: unknown }).error).toMatchObject({
    code: "payload_too_large",
  });
});
