import { validateCatalog } from "../../platform/catalog/index.ts";
import { withOrders } from "../../test/support/catalogVariants.ts";
import { businessGateway, standIn } from "../../test/support/businessGateway.ts";

// The public version-weights API (`GET|PUT /v1/versions/{service}`), as the Upgrade Manager
// uses it on a deployed stack: an admin key reads and moves a service's weights, any other key
// is refused, and bad weights are a 400 naming the field.

process.env["LOG_LEVEL"] ??= "silent";

const ADMIN = "sk-test_versions_admin_0123456789abcdef";
const USER = "sk-test_versions_user_0123456789abcdefg";
const closers: Array<() => Promise<void> | void> = [];
let url: string;
let verifications = 0;

beforeAll(async () => {
  const auth = await standIn((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      if (req.url === "/internal/verify") verifications++;
      const admin = body.includes(ADMIN);
      res.setHeader("content-type", "application/json");
      res.end(
        JSON.stringify({
          principal: {
            userId: admin ? "operator" : "user-1",
            keyId: admin ? "key_admin" : "key_user",
            plan: "free",
            ...(admin ? { scopes: ["admin"] } : {}),
          },
        }),
      );
    });
  }, closers);
  const upstream = await standIn((req, res) => void res.end("{}"), closers);
  url = await businessGateway({
    catalog: validateCatalog(
      withOrders({
        versions: [
          { name: "v1", weight: 100 },
          { name: "v2", weight: 0 },
        ],
      }),
    ),
    upstreamOf: () => upstream,
    auth,
    closers,
  });
});
afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

async function weights(key: string | undefined, method = "GET", body?: unknown) {
  const res = await fetch(`${url}/v1/versions/orders`, {
    method,
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(body ? { "content-type": "application/json" } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

test("an admin key reads and moves the weights; the answer says whether every replica shares them", async () => {
  expect(await weights(ADMIN)).toEqual({
    status: 200,
    body: { service: "orders", weights: { v1: 100, v2: 0 }, shared: false },
  });
  const moved = await weights(ADMIN, "PUT", { weights: { v1: 75, v2: 25 } });
  expect(moved).toMatchObject({ status: 200, body: { weights: { v1: 75, v2: 25 } } });
  expect((await weights(ADMIN)).body["weights"]).toEqual({ v1: 75, v2: 25 });
});

test("no key, a key without the admin scope, bad weights, an unknown service: refused in words", async () => {
  expect((await weights(undefined)).status).toBe(401);
  const user = await weights(USER, "PUT", { weights: { v1: 0, v2: 100 } });
  expect(user).toMatchObject({ status: 403, body: { error: { code: "admin_required" } } });
  const bad = await weights(ADMIN, "PUT", { weights: { v1: 60, v2: 60 } });
  expect(bad).toMatchObject({ status: 400, body: { error: { code: "invalid_weights" } } });
  // A service the tier does not route is refused before any key is checked.
  const before = verifications;
  const res = await fetch(`${url}/v1/versions/nonesuch`, {
    headers: { authorization: "Bearer sk-test_never_verified_0123456789ab" },
  });
  expect(res.status).toBe(404);
  expect(verifications).toBe(before);
  expect((await weights(ADMIN)).body["weights"]).toEqual({ v1: 75, v2: 25 });
});
