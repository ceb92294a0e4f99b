import { createDatabase } from "../../test/servers/index.ts";
import { principal, serveApp, stackCall, type ServedApp } from "../../test/support/serviceApp.ts";
import { openDb, type Db } from "../shared/sql/db.ts";
import { migrate } from "../shared/sql/migrate.ts";
import { userRoutes } from "./app.ts";
import { migrations, userStore } from "./store.ts";

// The user service on a real PostgreSQL (its own schema): seeded plans, admin-only writes,
// validation with the field named, pagination, and the internal endpoints quota and auth use.

process.env["LOG_LEVEL"] ??= "silent";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the assertions check the shape
type Json = Record<string, any>;

let db: Db;
let served: ServedApp;

beforeAll(async () => {
  const url = await createDatabase("usertest");
  db = await openDb({ service: "user", domain: "identity", databaseUrl: url, dataDir: "" });
  // Two replicas migrating at once, as they start in a deployment.
  const other = await openDb({
    service: "user",
    domain: "identity",
    databaseUrl: url,
    dataDir: "",
  });
  await Promise.all([migrate(db, "user", migrations), migrate(other, "user", migrations)]);
  await other.close();
  served = await serveApp("user", (app) => userRoutes(app, userStore(db)));
}, 60_000);

afterAll(async () => {
  await served?.close();
  await db?.close();
});

const admin = () => principal("root", { keyId: "key_a", scopes: ["admin"] });
const caller = (userId: string) => principal(userId, { keyId: "key_u" });

async function call(method: string, path: string, headers: Record<string, string>, body?: unknown) {
  const res = await fetch(`${served.url}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

let seq = 0;
const email = () => `person${++seq}-${Date.now()}@example.com`;

test("free and pro are seeded, readable by any caller and by quota's internal endpoint", async () => {
  const list = await call("GET", "/v1/users/plans", caller("u1"));
  expect(list.status).toBe(200);
  expect(list.body.data.map((p: Json) => p.name)).toEqual(["free", "pro"]);
  const free = await call("GET", "/internal/plans/free", stackCall());
  expect(free.body).toEqual({
    object: "plan",
    name: "free",
    requestsPerDay: 1000,
    tokensPerDay: 1_000_000,
    models: [],
  });
  expect((await call("GET", "/internal/plans/gold", stackCall())).status).toBe(404);
  expect((await call("GET", "/internal/plans/NOT_A_NAME", stackCall())).body.error.param).toBe(
    "name",
  );
  expect((await call("GET", "/v1/users/plans", {})).status).toBe(401);
});

test("only an admin key writes users and plans", async () => {
  const body = { email: email(), name: "Ada" };
  const refused = await call("POST", "/v1/users", caller("u1"), body);
  expect(refused.status).toBe(403);
  expect(refused.body.error).toMatchObject({ type: "permission_error", code: "admin_required" });
  expect((await call("GET", "/v1/users", caller("u1"))).status).toBe(403);
  expect(
    (
      await call("PUT", "/v1/users/plans/team", caller("u1"), {
        requestsPerDay: 1,
        tokensPerDay: 1,
      })
    ).status,
  ).toBe(403);

  const created = await call("POST", "/v1/users", admin(), body);
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({
    object: "user",
    email: body.email,
    name: "Ada",
    plan: "free",
  });
  expect(created.body.id).toMatch(/^user_[0-9a-f]{24}$/);
  for (const path of [`/v1/users/${created.body.id}`, `/internal/users/${created.body.id}`]) {
    expect((await call("GET", path, admin())).body).toEqual(created.body);
  }
  expect(
    (await call("PATCH", `/v1/users/${created.body.id}`, caller("u1"), { plan: "pro" })).status,
  ).toBe(403);
  expect((await call("DELETE", `/v1/users/${created.body.id}`, caller("u1"))).status).toBe(403);
});

test("a user reads their own record, and nobody else's", async () => {
  const me = await call("POST", "/v1/users", admin(), {
    id: "grace",
    email: email(),
    name: "Grace",
    plan: "pro",
  });
  expect(me.status).toBe(201);
  expect((await call("GET", "/v1/users/me", caller("grace"))).body).toEqual(me.body);
  expect((await call("GET", "/v1/users/grace", caller("grace"))).body).toEqual(me.body);
  const other = await call("GET", "/v1/users/grace", caller("someone"));
  expect(other.status).toBe(404);
  expect(other.body.error.code).toBe("user_not_found");
  expect((await call("GET", "/v1/users/me", caller("someone"))).status).toBe(404);
});

test("bad input is a 4xx naming the field", async () => {
  const cases: [string, string, unknown, string][] = [
    ["POST", "/v1/users", { email: "not-an-email", name: "A" }, "email"],
    ["POST", "/v1/users", { email: email(), name: "" }, "name"],
    ["POST", "/v1/users", { email: email(), name: "A", plan: "Gold!" }, "plan"],
    ["POST", "/v1/users", { email: email(), name: "A", id: "me" }, "id"],
    ["POST", "/v1/users", { email: email(), name: "A", role: "admin" }, "body"],
    ["PUT", "/v1/users/plans/team", { requestsPerDay: -1, tokensPerDay: 1 }, "requestsPerDay"],
    [
      "PUT",
      "/v1/users/plans/team",
      { requestsPerDay: 1, tokensPerDay: 1, models: ["bad model"] },
      "models.0",
    ],
    ["PATCH", "/v1/users/grace", {}, "body"],
  ];
  for (const [method, path, body, param] of cases) {
    const res = await call(method, path, admin(), body);
    expect({ path, status: res.status, param: res.body.error.param }).toEqual({
      path,
      status: 400,
      param,
    });
  }
  const unknownPlan = await call("POST", "/v1/users", admin(), {
    email: email(),
    name: "A",
    plan: "gold",
  });
  expect(unknownPlan.status).toBe(400);
  expect(unknownPlan.body.error).toMatchObject({ code: "unknown_plan", param: "plan" });
  const query = await call("GET", "/v1/users?limit=0", admin());
  expect(query.body.error.param).toBe("limit");
  const res = await fetch(`${served.url}/v1/users`, {
    method: "POST",
    headers: { ...admin(), "content-type": "text/plain" },
    body: "hello",
  });
  expect(res.status).toBe(415);
});

test("an email is used once among live users; an id once", async () => {
  const address = email();
  expect((await call("POST", "/v1/users", admin(), { email: address, name: "A" })).status).toBe(
    201,
  );
  const again = await call("POST", "/v1/users", admin(), { email: address, name: "B" });
  expect(again.status).toBe(409);
  expect(again.body.error).toMatchObject({ code: "email_taken", param: "email" });
  const dupId = await call("POST", "/v1/users", admin(), {
    id: "grace",
    email: email(),
    name: "G",
  });
  expect(dupId.body.error.code).toBe("id_taken");
});

test("admins page through users, newest first, optionally by plan", async () => {
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    ids.push(
      (await call("POST", "/v1/users", admin(), { email: email(), name: `P${i}`, plan: "pro" }))
        .body.id,
    );
  }
  const seen: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await call(
      "GET",
      `/v1/users?plan=pro&limit=2${after ? `&after=${after}` : ""}`,
      admin(),
    );
    expect(page.status).toBe(200);
    expect(page.body.data.length).toBeLessThanOrEqual(2);
    seen.push(...page.body.data.map((u: Json) => u.id));
    if (!page.body.has_more) break;
    after = seen.at(-1);
  }
  // Generated ids sort by time, and "grace" (named) sorts after them.
  expect(seen).toEqual([...ids].reverse().concat("grace"));
  expect(page(await call("GET", "/v1/users?limit=100", admin())).every((u) => u.plan)).toBe(true);
});

const page = (res: { body: Json }): Json[] => res.body.data;

test("admins change a user's plan and delete users; a deleted user is gone (410 inside)", async () => {
  const user = (await call("POST", "/v1/users", admin(), { email: email(), name: "Linus" })).body;
  const moved = await call("PATCH", `/v1/users/${user.id}`, admin(), { plan: "pro", name: "L" });
  expect(moved.body).toMatchObject({ id: user.id, plan: "pro", name: "L", email: user.email });
  expect(
    (await call("PATCH", `/v1/users/${user.id}`, admin(), { plan: "gold" })).body.error.code,
  ).toBe("unknown_plan");
  const deleted = await call("DELETE", `/v1/users/${user.id}`, admin());
  expect(deleted.body).toEqual({ id: user.id, object: "user", deleted: true });
  expect((await call("GET", `/v1/users/${user.id}`, admin())).status).toBe(404);
  const inside = await call("GET", `/internal/users/${user.id}`, stackCall());
  expect(inside.status).toBe(410);
  expect(inside.body.error.code).toBe("user_deleted");
  expect((await call("DELETE", `/v1/users/${user.id}`, admin())).status).toBe(404);
  expect(page(await call("GET", "/v1/users?limit=100", admin())).map((u) => u.id)).not.toContain(
    user.id,
  );
  // Its email is free again.
  expect(
    (await call("POST", "/v1/users", admin(), { email: user.email, name: "New" })).status,
  ).toBe(201);
  expect((await call("GET", "/internal/users/nobody", stackCall())).status).toBe(404);
});

test("admins add and change plans", async () => {
  const created = await call("PUT", "/v1/users/plans/team", admin(), {
    requestsPerDay: 50,
    tokensPerDay: 5000,
    models: ["deepseek-chat"],
  });
  expect(created.status).toBe(201);
  expect(created.body).toEqual({
    object: "plan",
    name: "team",
    requestsPerDay: 50,
    tokensPerDay: 5000,
    models: ["deepseek-chat"],
  });
  const changed = await call("PUT", "/v1/users/plans/team", admin(), {
    requestsPerDay: 60,
    tokensPerDay: 5000,
  });
  expect(changed.status).toBe(200);
  expect((await call("GET", "/internal/plans/team", stackCall())).body).toMatchObject({
    requestsPerDay: 60,
    models: [],
  });
  expect(
    (await call("POST", "/v1/users", admin(), { email: email(), name: "T", plan: "team" })).body
      .plan,
  ).toBe("team");
});
