import { createHash } from "node:crypto";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { createDatabase } from "../../test/servers/index.ts";
import {
  TEST_PRINCIPAL_SECRET,
  serveApp,
  signedPrincipal,
  stackCall,
  type ServedApp,
} from "../../test/support/serviceApp.ts";
import { createLogger } from "../shared/logger.ts";
import { readPrincipal } from "../shared/principal.ts";
import { openDb, type Db } from "../shared/sql/db.ts";
import { migrate } from "../shared/sql/migrate.ts";
import { ReplicaSet } from "../shared/upstream.ts";
import { userRoutes } from "../user/app.ts";
import { migrations as userMigrations, userStore } from "../user/store.ts";
import { authRoutes } from "./app.ts";
import { userOwners } from "./owners.ts";
import { MAX_ACTIVE_KEYS_PER_USER, keyStore, migrations } from "./store.ts";

// auth with the user service over HTTP on real PostgreSQL: a principal's plan comes from the
// user service (the plan recorded with the key while it is away), the admin scope, and the
// bootstrap command that makes the first admin key.

process.env["LOG_LEVEL"] ??= "silent";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the assertions check the shape
type Json = Record<string, any>;

let authDbUrl: string;
let db: Db;
let userDb: Db;
let userApp: ServedApp;
let authApp: ServedApp;
let userSet: ReplicaSet;

beforeAll(async () => {
  // One database for the domain, a schema per service, as on a deployment.
  authDbUrl = await createDatabase("authtest");
  db = await openDb({ service: "auth", domain: "identity", databaseUrl: authDbUrl, dataDir: "" });
  userDb = await openDb({
    service: "user",
    domain: "identity",
    databaseUrl: authDbUrl,
    dataDir: "",
  });
  await migrate(db, "auth", migrations);
  await migrate(userDb, "user", userMigrations);
  userApp = await serveApp("user", (app) => userRoutes(app, userStore(userDb)));
  userSet = new ReplicaSet("user", [userApp.url], { signWith: TEST_PRINCIPAL_SECRET });
  const owners = userOwners({ user: userSet, logger: createLogger("auth"), freshMs: 0 });
  authApp = await serveApp("auth", (app) => authRoutes(app, keyStore(db), owners));
}, 60_000);

afterAll(async () => {
  await authApp?.close();
  await userApp?.close();
  await userSet?.close();
  await Promise.all([db?.close(), userDb?.close()]);
});

async function call(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

/** What a gateway does with a key: verify it, then pass the principal as headers. */
async function as(key: string): Promise<Record<string, string>> {
  const res = await call(authApp.url, "POST", "/internal/verify", stackCall(), { key });
  if (res.status !== 200) throw new Error(`verify: ${res.status} ${JSON.stringify(res.body)}`);
  return signedPrincipal(res.body.principal);
}

const verify = (key: string) => call(authApp.url, "POST", "/internal/verify", stackCall(), { key });

/** The bootstrap command, run as an operator runs it, with the service's environment. */
async function bootstrapAdmin(userId?: string): Promise<Json> {
  const node = process.execPath;
  const { stdout } = await promisify(execFile)(
    node,
    [join(__dirname, "createAdminKey.ts"), ...(userId ? [userId] : [])],
    { env: { ...process.env, DATABASE_URL: authDbUrl, NODE_OPTIONS: "" } },
  );
  return JSON.parse(stdout) as Json;
}

let adminKey: string;

test("the bootstrap command makes an admin key, shown once and stored hashed", async () => {
  const made = await bootstrapAdmin();
  expect(made).toMatchObject({ userId: "admin", scopes: ["admin"], plan: "free" });
  adminKey = made.key;
  expect((await verify(adminKey)).body.principal).toEqual({
    userId: "admin",
    keyId: made.id,
    plan: "free",
    scopes: ["admin"],
  });
  const stored = await db.query<Json>("SELECT * FROM api_keys WHERE id = $1", [made.id]);
  expect(JSON.stringify(stored)).not.toContain(adminKey);
  // The principal survives the trip through the gateway's headers.
  const headers = await as(adminKey);
  expect(readPrincipal(headers)).toMatchObject({ scopes: ["admin"] });
});

test("an admin onboards a user: a record on a plan, then a key, whose principal has that plan", async () => {
  const admin = await as(adminKey);
  const user = await call(userApp.url, "POST", "/v1/users", admin, {
    email: "kim@example.com",
    name: "Kim",
    plan: "pro",
  });
  expect(user.status).toBe(201);
  const key = await call(authApp.url, "POST", "/v1/auth/keys", admin, {
    name: "kim's",
    userId: user.body.id,
  });
  expect(key.status).toBe(201);
  expect(key.body).toMatchObject({ userId: user.body.id, plan: "pro", scopes: [] });
  const principal = (await verify(key.body.key)).body.principal;
  // An ordinary key's principal has no scopes field at all.
  expect(principal).toEqual({ userId: user.body.id, keyId: key.body.id, plan: "pro" });

  // The plan lives in the user service: a change there is what the next verification says.
  await call(userApp.url, "PATCH", `/v1/users/${user.body.id}`, admin, { plan: "free" });
  expect((await verify(key.body.key)).body.principal.plan).toBe("free");
  await call(userApp.url, "PATCH", `/v1/users/${user.body.id}`, admin, { plan: "pro" });
  expect((await verify(key.body.key)).body.principal.plan).toBe("pro");

  // With the user service unreachable, the plan recorded with the key (the last one seen) stands.
  const dead = new ReplicaSet("user", ["http://127.0.0.1:1"]);
  const alone = await serveApp("auth", (app) =>
    authRoutes(app, keyStore(db), userOwners({ user: dead, logger: createLogger("auth") })),
  );
  try {
    const res = await call(alone.url, "POST", "/internal/verify", stackCall(), {
      key: key.body.key,
    });
    expect(res.body.principal.plan).toBe("pro");
    // ... and no key can be made for another user, whose existence cannot be checked.
    const other = await call(alone.url, "POST", "/v1/auth/keys", admin, { userId: user.body.id });
    expect(other.status).toBe(503);
  } finally {
    await alone.close();
    await dead.close();
  }

  // A deleted user's keys stop working.
  await call(userApp.url, "DELETE", `/v1/users/${user.body.id}`, admin);
  expect((await verify(key.body.key)).status).toBe(401);
});

test("a key's offspring are revoked with it, and a user's live keys are capped", async () => {
  const keys = keyStore(db);
  const root = "sk-offspring-root-key-0000000000000000";
  await keys.add("kit", "root", root, "free");
  const parent = await call(authApp.url, "POST", "/v1/auth/keys", await as(root), {});
  expect(parent.status).toBe(201);
  const child = await call(authApp.url, "POST", "/v1/auth/keys", await as(parent.body.key), {});
  const grandchild = await call(authApp.url, "POST", "/v1/auth/keys", await as(child.body.key), {});
  expect((await verify(grandchild.body.key)).status).toBe(200);
  const revoked = await call(
    authApp.url,
    "DELETE",
    `/v1/auth/keys/${parent.body.id}`,
    await as(root),
  );
  expect(revoked.status).toBe(200);
  for (const k of [parent, child, grandchild]) expect((await verify(k.body.key)).status).toBe(401);
  expect((await verify(root)).status).toBe(200);

  // kit holds 1 live key (root): up to the cap, then a 403 until one is revoked.
  const asRoot = await as(root);
  const made: Json[] = [];
  for (let i = 1; i < MAX_ACTIVE_KEYS_PER_USER; i++) {
    const res = await call(authApp.url, "POST", "/v1/auth/keys", asRoot, { name: `k${i}` });
    expect([i, res.status]).toEqual([i, 201]);
    made.push(res.body);
  }
  const refused = await call(authApp.url, "POST", "/v1/auth/keys", asRoot, {});
  expect(refused.status).toBe(403);
  expect(refused.body.error).toMatchObject({
    type: "permission_error",
    code: "key_limit_reached",
    message: expect.any(String),
  });
  await call(authApp.url, "DELETE", `/v1/auth/keys/${made[0]!.id}`, asRoot);
  expect((await call(authApp.url, "POST", "/v1/auth/keys", asRoot, {})).status).toBe(201);
});

test("the gateways' revocation feed: the hashes of keys revoked since a time, unsigned asks refused", async () => {
  const keys = keyStore(db);
  const key = "sk-revocation-feed-key-000000000000000";
  const kept = "sk-revocation-feed-kept-00000000000000";
  await keys.add("feed", "k", key, "free");
  await keys.add("feed", "kept", kept, "free");
  const before = await call(authApp.url, "POST", "/internal/revocations", stackCall(), {});
  expect(before.status).toBe(200);
  const since = before.body.until as string;
  const made = (await call(authApp.url, "GET", "/v1/auth/keys", await as(key))).body.data as Json[];
  const id = made.find((k) => k.name === "k")!.id as string;
  expect((await call(authApp.url, "DELETE", `/v1/auth/keys/${id}`, await as(kept))).status).toBe(
    200,
  );
  const after = await call(authApp.url, "POST", "/internal/revocations", stackCall(), { since });
  expect(after.status).toBe(200);
  expect(after.body.revoked).toContain(createHash("sha256").update(key).digest("hex"));
  expect(after.body.revoked).not.toContain(createHash("sha256").update(kept).digest("hex"));
  // The answer's `until` stays a little behind the clock: a late commit still falls in the next.
  expect(Date.parse(after.body.until as string)).toBeLessThan(Date.now());
  expect(
    (await call(authApp.url, "POST", "/internal/revocations", stackCall(), { since: "yesterday" }))
      .status,
  ).toBe(400);
  expect((await call(authApp.url, "POST", "/internal/revocations", {}, {})).status).toBe(401);
});

test("a key whose owner has no user record keeps the plan it was made with", async () => {
  const keys = keyStore(db);
  await keys.add("demo-user", "demo", "sk-demo-key-000000000000000000000", "free");
  expect((await verify("sk-demo-key-000000000000000000000")).body.principal).toMatchObject({
    userId: "demo-user",
    plan: "free",
  });
});

test("only an admin makes keys for others or admin keys, and lists or revokes others' keys", async () => {
  const admin = await as(adminKey);
  await call(userApp.url, "POST", "/v1/users", admin, {
    id: "lee",
    email: "lee@example.com",
    name: "Lee",
  });
  const own = await call(authApp.url, "POST", "/v1/auth/keys", admin, { userId: "lee" });
  const lee = await as(own.body.key);

  for (const body of [{ userId: "admin" }, { scopes: ["admin"] }]) {
    const res = await call(authApp.url, "POST", "/v1/auth/keys", lee, body);
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("admin_required");
  }
  expect((await call(authApp.url, "GET", "/v1/auth/keys?userId=admin", lee)).status).toBe(403);
  // Lee's own keys work as before.
  const second = await call(authApp.url, "POST", "/v1/auth/keys", lee, { name: "laptop" });
  expect(second.status).toBe(201);
  expect((await call(authApp.url, "GET", "/v1/auth/keys", lee)).body.data).toHaveLength(2);

  // A second admin, made by the first.
  const deputy = await call(authApp.url, "POST", "/v1/auth/keys", admin, {
    userId: "lee",
    scopes: ["admin"],
  });
  expect((await verify(deputy.body.key)).body.principal.scopes).toEqual(["admin"]);
  expect(
    (await call(authApp.url, "POST", "/v1/auth/keys", admin, { userId: "nobody" })).status,
  ).toBe(404);
  expect(
    (await call(authApp.url, "POST", "/v1/auth/keys", admin, { scopes: ["root"] })).body.error
      .param,
  ).toBe("scopes.0");

  const listed = await call(authApp.url, "GET", "/v1/auth/keys?userId=lee", admin);
  expect(listed.body.data.map((k: Json) => k.id).sort()).toEqual(
    [own.body.id, second.body.id, deputy.body.id].sort(),
  );
  // A leaked key of Lee's, revoked by an admin; Lee cannot revoke the admin's.
  expect((await call(authApp.url, "DELETE", `/v1/auth/keys/${second.body.id}`, admin)).status).toBe(
    200,
  );
  expect((await verify(second.body.key)).status).toBe(401);
  const adminKeyId = (await verify(adminKey)).body.principal.keyId;
  expect((await call(authApp.url, "DELETE", `/v1/auth/keys/${adminKeyId}`, lee)).status).toBe(404);
});
