import { randomBytes } from "node:crypto";
import pg from "pg";
import { createDatabase, PASSWORD_LOGIN_ROLE } from "../../../test/servers/index.ts";
import { envKey, fields, loadEnv } from "../config.ts";
import type { Db } from "./db.ts";
import { openDb } from "./db.ts";
import { openPostgres } from "./postgres.ts";
import { IAM_TOKEN_MAX_AGE_MS, iamAuthToken, refreshingPassword } from "./rotatingPassword.ts";

// A database password that changes under a running service (an RDS IAM token that expires, a
// rotated password), on a real PostgreSQL that checks passwords (scram-sha-256 for the test's
// role): the pool keeps the password it read, a connection the server refuses for its password
// makes it read again, and an IAM token is renewed before it expires.

let admin: pg.Client;
let secretValue: string;
let reads = 0;
let role: string;
let url: string;
const opened: Db[] = [];
/** Reads the current password, as a token source or a secret store would answer. */
const source = () =>
  refreshingPassword(async () => {
    reads++;
    return secretValue;
  });

beforeAll(async () => {
  const database = await createDatabase("rotation");
  admin = new pg.Client({ connectionString: database });
  await admin.connect();
  role = `rotating_${randomBytes(4).toString("hex")}`;
  await admin.query(`DO $$ BEGIN CREATE ROLE ${PASSWORD_LOGIN_ROLE} NOLOGIN;
    EXCEPTION WHEN duplicate_object THEN NULL; END $$`);
  await setPassword("first-password");
  await admin.query(`GRANT ${PASSWORD_LOGIN_ROLE} TO ${role}`);
  await admin.query(`GRANT CREATE ON DATABASE ${new URL(database).pathname.slice(1)} TO ${role}`);
  const u = new URL(database);
  u.username = role;
  url = u.toString();
}, 60_000);

afterAll(async () => {
  await Promise.all(opened.map((db) => db.close()));
  await admin?.end();
});

/** Rotates the role's password in the server, as the rotation function does on RDS. */
async function setPassword(password: string): Promise<void> {
  const exists = (await admin.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role])).rowCount;
  await admin.query(
    `${exists ? "ALTER" : "CREATE"} ROLE ${role} LOGIN PASSWORD ${admin.escapeLiteral(password)}`,
  );
  secretValue = password;
}

/** Enough statements at once that the pool must open new connections. */
const concurrently = (db: Db, n: number) =>
  Promise.all(Array.from({ length: n }, () => db.query("SELECT pg_sleep(0.05)")));

test("the server checks this role's password: a wrong one is refused with 28P01", async () => {
  const wrong = new URL(url);
  wrong.password = "not-the-password";
  const client = new pg.Client({ connectionString: wrong.toString() });
  await expect(client.connect()).rejects.toMatchObject({ code: "28P01" });
});

test("new connections after a rotation read the new password once, and nothing fails", async () => {
  await setPassword("first-password");
  reads = 0;
  const db = await openPostgres(url, "rotation", source());
  opened.push(db);
  await concurrently(db, 3);
  expect(reads).toBe(1);

  await setPassword("second-password");
  // Connections already open stay signed in; the ones the pool opens now are refused once.
  await concurrently(db, 8);
  expect(reads).toBe(2);
  await db.transaction(async (tx) => tx.query("CREATE TABLE IF NOT EXISTS t (x int)"));
  expect(await db.ping()).toBe(true);
  expect(reads).toBe(2);
});

test("a source that does not give the server's password fails, and recovers once it does", async () => {
  await setPassword("third-password");
  const db = await openPostgres(url, "rotation", source());
  opened.push(db);
  // Rotated in the server, but the source does not have it yet.
  await setPassword("fourth-password");
  secretValue = "stale-password";
  reads = 0;
  await expect(concurrently(db, 12)).rejects.toMatchObject({ code: "28P01" });
  expect(await db.ping()).toBe(false);
  // Each refused connection reads the password again, once: no retry loop.
  expect(reads).toBeGreaterThanOrEqual(1);
  expect(reads).toBeLessThanOrEqual(12 + 2);
  secretValue = "fourth-password";
  await concurrently(db, 12);
  expect(await db.ping()).toBe(true);
});

test("an IAM token is for the URL's user, host and port, and is renewed before it expires", async () => {
  const env = { ...process.env };
  process.env["AWS_ACCESS_KEY_ID"] = "AKIDEXAMPLE";
  process.env["AWS_SECRET_ACCESS_KEY"] = "secret";
  try {
    const tokens = iamAuthToken("postgres://orders@db.internal:5432/platform", "eu-west-1");
    const first = await tokens.get();
    // A presigned `connect` for that user, signed here: no call to AWS.
    expect(first).toMatch(/^db\.internal:5432\/\?Action=connect&DBUser=orders&/);
    expect(new URLSearchParams(first.split("?")[1]).get("X-Amz-Expires")).toBe("900");
    expect(await tokens.get()).toBe(first);
    expect(tokens.generation).toBe(1);
  } finally {
    process.env = env;
  }
  let now = 0;
  const aging = refreshingPassword(
    async () => `token-${now}`,
    IAM_TOKEN_MAX_AGE_MS,
    () => now,
  );
  expect(await aging.get()).toBe("token-0");
  now = IAM_TOKEN_MAX_AGE_MS - 1;
  expect(await aging.get()).toBe("token-0");
  now = IAM_TOKEN_MAX_AGE_MS;
  expect(await aging.get()).toBe(`token-${IAM_TOKEN_MAX_AGE_MS}`);
  expect(aging.generation).toBe(2);
});

test("DATABASE_AUTH is checked at start, naming the variable; aws-iam needs a region", async () => {
  const read = (value: string) =>
    loadEnv(
      { auth: fields.databaseAuth },
      { auth: envKey.databaseAuth },
      { [envKey.databaseAuth]: value },
    );
  expect(read("aws-iam").auth).toBe("aws-iam");
  expect(() => read("iam")).toThrow(/DATABASE_AUTH: must be "password" or "aws-iam"/);
  await expect(
    openDb({ service: "s", domain: "d", databaseUrl: url, databaseAuth: "aws-iam", dataDir: "" }),
  ).rejects.toThrow(/DATABASE_AUTH=aws-iam needs AWS_REGION/);
});
