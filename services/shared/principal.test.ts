import { randomUUID } from "node:crypto";
import {
  TEST_PRINCIPAL_SECRET,
  principal,
  serveApp,
  stackCall,
  type ServedApp,
} from "../../test/support/serviceApp.ts";
import { CALL_MAX_AGE_MS, CALL_SIGNATURE_HEADER, signCall } from "./callSignature.ts";
import { principalFrom, principalHeaders } from "./principal.ts";
import { jsonBody } from "./validation.ts";

// A service believes a principal, and answers its /internal routes, only under a call signature
// of this stack for that very request: its method, target, body and request id, for a few
// minutes, with the stack's secret. Anything else that reaches the port gets a 401 JSON error,
// and a signature picked up on the way works for no other request (issue #13, findings 8 and
// the replay of a signed principal).

process.env["LOG_LEVEL"] ??= "silent";

let served: ServedApp;
beforeAll(async () => {
  served = await serveApp("orders", (app) => {
    app.get("/v1/me", (req, res) => res.json(principalFrom(req.headers)));
    app.get("/v1/other", (req, res) => res.json(principalFrom(req.headers)));
    app.post("/v1/me", ...jsonBody(), (req, res) => res.json(principalFrom(req.headers)));
    app.post("/internal/models", ...jsonBody(), (_req, res) => res.json({ registered: true }));
  });
});
afterAll(() => served?.close());

interface Sent {
  method?: string;
  target?: string;
  headers: Record<string, string>;
  body?: string;
}

const send = ({ method = "GET", target = "/v1/me", headers, body }: Sent) =>
  fetch(`${served.url}${target}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body,
  }).then(async (r) => ({
    status: r.status,
    body: (await r.json()) as { userId?: string; error?: Record<string, unknown> },
  }));

const user1 = principalHeaders({ userId: "user-1", keyId: "key_1", plan: "free" });

/** The headers of a request signed as a gateway signs it, for `what` (GET /v1/me by default). */
function signed(
  what: Partial<Omit<Sent, "headers">> & { secret?: string; at?: number } = {},
  principalOf: Record<string, string> = user1,
): Record<string, string> {
  const headers = { "x-request-id": randomUUID(), ...principalOf };
  const signature = signCall(
    what.secret ?? TEST_PRINCIPAL_SECRET,
    {
      method: what.method ?? "GET",
      target: what.target ?? "/v1/me",
      headers,
      body: what.body === undefined ? undefined : Buffer.from(what.body),
    },
    what.at,
  );
  return { ...headers, [CALL_SIGNATURE_HEADER]: signature };
}

test("a principal signed for its request is believed", async () => {
  expect(await send({ headers: principal("user-1") })).toMatchObject({
    status: 200,
    body: { userId: "user-1" },
  });
  expect(await send({ headers: signed() })).toMatchObject({ status: 200 });
  const body = '{"note":"hi"}';
  expect(
    await send({ method: "POST", headers: signed({ method: "POST", body }), body }),
  ).toMatchObject({ status: 200, body: { userId: "user-1" } });
});

test("unsigned, altered, stale or foreign principals are a 401 JSON error", async () => {
  const good = signed();
  const cases: Record<string, Record<string, string>> = {
    unsigned: { ...user1, "x-request-id": randomUUID() },
    "made up": { "x-principal-user": "root", "x-principal-key": "k", "x-principal-plan": "free" },
    "another user": { ...good, "x-principal-user": "user-2" },
    "an admin scope added": { ...good, "x-principal-scopes": "admin" },
    "another request id": { ...good, "x-request-id": randomUUID() },
    "too old": signed({ at: Date.now() - CALL_MAX_AGE_MS - 60_000 }),
    "another stack's secret": signed({ secret: "some-other-stack-secret-0123456789ab" }),
  };
  for (const [what, headers] of Object.entries(cases)) {
    const res = await send({ headers });
    expect([what, res.status]).toEqual([what, 401]);
    expect(res.body.error).toMatchObject({
      type: "authentication_error",
      code: "invalid_api_key",
      message: expect.any(String),
    });
  }
});

test("a signature picked up on the way works for no other request", async () => {
  const body = '{"note":"hi"}';
  const post = signed({ method: "POST", body });
  const replays: Record<string, Sent> = {
    "another route": { target: "/v1/other", headers: signed() },
    "another query": { target: "/v1/me?all=1", headers: signed() },
    "a read made a write": { method: "POST", headers: signed(), body },
    "another body": { method: "POST", headers: post, body: '{"note":"bye"}' },
    "the body dropped": { method: "POST", headers: post },
  };
  for (const [what, sent] of Object.entries(replays)) {
    expect([what, (await send(sent)).status]).toEqual([what, 401]);
  }
  // The very request again, within the window, is what the gateway's own retries send.
  expect((await send({ method: "POST", headers: post, body })).status).toBe(200);
});

test("internal routes answer only calls this stack signed", async () => {
  const body = '{"name":"ft-x"}';
  const internal = { method: "POST", target: "/internal/models", body };
  expect((await send({ ...internal, headers: {} })).status).toBe(401);
  expect((await send({ ...internal, headers: { "x-request-id": randomUUID() } })).status).toBe(401);
  expect(
    (
      await send({
        ...internal,
        headers: signed({ secret: "some-other-stack-secret-0123456789ab", ...internal }, {}),
      })
    ).status,
  ).toBe(401);
  expect((await send({ ...internal, headers: signed(internal, {}) })).body).toEqual({
    registered: true,
  });
  expect((await send({ ...internal, headers: stackCall() })).status).toBe(200);
});
