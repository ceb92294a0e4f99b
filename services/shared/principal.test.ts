import { randomUUID } from "node:crypto";
import {
  TEST_PRINCIPAL_SECRET,
  principal,
  serveApp,
  type ServedApp,
} from "../../test/support/serviceApp.ts";
import {
  PRINCIPAL_MAX_AGE_MS,
  PRINCIPAL_SIGNATURE_HEADER,
  principalFrom,
  principalHeaders,
} from "./principal.ts";

// A service believes a principal only as its gateway signed it: for that request id, for a few
// minutes, with the stack's secret. Anything else that reaches the port gets a 401 JSON error.

process.env["LOG_LEVEL"] ??= "silent";

let served: ServedApp;
beforeAll(async () => {
  served = await serveApp("orders", (app) => {
    app.get("/v1/me", (req, res) => res.json(principalFrom(req.headers)));
  });
});
afterAll(() => served?.close());

const me = (headers: Record<string, string>) =>
  fetch(`${served.url}/v1/me`, { headers }).then(async (r) => ({
    status: r.status,
    body: (await r.json()) as { userId?: string; error?: Record<string, unknown> },
  }));

const signed = (at: number, secret = TEST_PRINCIPAL_SECRET, requestId = randomUUID()) => ({
  "x-request-id": requestId,
  ...principalHeaders(
    { userId: "user-1", keyId: "key_1", plan: "free" },
    { secret, requestId, at },
  ),
});

test("a principal the gateway signed is believed", async () => {
  expect(await me(principal("user-1"))).toMatchObject({ status: 200, body: { userId: "user-1" } });
});

test("unsigned, altered, replayed, stale or foreign principals are a 401 JSON error", async () => {
  const good = principal("user-1");
  const unsigned = Object.fromEntries(
    Object.entries(good).filter(([h]) => h !== PRINCIPAL_SIGNATURE_HEADER),
  );
  const cases: Record<string, Record<string, string>> = {
    unsigned,
    "made up": { "x-principal-user": "root", "x-principal-key": "k", "x-principal-plan": "free" },
    "another user": { ...good, "x-principal-user": "user-2" },
    "an admin scope added": { ...good, "x-principal-scopes": "admin" },
    "another request id": { ...good, "x-request-id": randomUUID() },
    "too old": signed(Date.now() - PRINCIPAL_MAX_AGE_MS - 60_000),
    "another stack's secret": signed(Date.now(), "some-other-stack-secret-0123456789ab"),
  };
  for (const [what, headers] of Object.entries(cases)) {
    const res = await me(headers);
    expect([what, res.status]).toEqual([what, 401]);
    expect(res.body.error).toMatchObject({
      type: "authentication_error",
      code: "invalid_api_key",
      message: expect.any(String),
    });
  }
});
