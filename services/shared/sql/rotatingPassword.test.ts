import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";
import { createDatabase, PASSWORD_LOGIN_ROLE } from "../../../test/servers/index.ts";
import { envKey, fields, loadEnv } from "../config.ts";
import type { Db } from "./db.ts";
import { openPostgres } from "./postgres.ts";
import { secretPassword } from "./rotatingPassword.ts";

// A database password that RDS rotates under a running service, on a real PostgreSQL that checks
// passwords (scram-sha-256 for the test's role) and a plain HTTP endpoint answering as Secrets
// Manager does (no Secrets Manager runs here): the AWS SDK reads the secret, the pool keeps the
// password it read, and a connection the server refuses for its password makes it read again.

const SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-platform-AbCdEf";

let admin: pg.Client;
let server: Server;
let secretValue: string;
let reads = 0;
let role: string;
let url: string;
const opened: Db[] = [];

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

  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      reads++;
      res.setHeader("content-type", "application/x-amz-json-1.1");
      res.end(
        JSON.stringify({
          ARN: SECRET,
          SecretString: JSON.stringify({ username: role, password: secretValue }),
        }),
      );
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  process.env["AWS_ENDPOINT_URL_SECRETS_MANAGER"] =
    `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.env["AWS_ACCESS_KEY_ID"] = "AKIDROTATION";
  process.env["AWS_SECRET_ACCESS_KEY"] = "secret";
}, 60_000);

afterAll(async () => {
  await Promise.all(opened.map((db) => db.close()));
  await admin?.end();
  await new Promise<void>((ok) => server.close(() => ok()));
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
  const db = await openPostgres(url, "rotation", secretPassword(SECRET));
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

test("a secret that does not hold the server's password fails, and recovers once it does", async () => {
  await setPassword("third-password");
  const db = await openPostgres(url, "rotation", secretPassword(SECRET));
  opened.push(db);
  // Rotated in the server, but the secret is not updated yet.
  await setPassword("fourth-password");
  secretValue = "stale-password";
  reads = 0;
  await expect(concurrently(db, 12)).rejects.toMatchObject({ code: "28P01" });
  expect(await db.ping()).toBe(false);
  // Each refused connection reads the secret again, once: no retry loop.
  expect(reads).toBeGreaterThanOrEqual(1);
  expect(reads).toBeLessThanOrEqual(12 + 2);
  secretValue = "fourth-password";
  await concurrently(db, 12);
  expect(await db.ping()).toBe(true);
});

test("DATABASE_PASSWORD_SECRET_ARN is checked at start, naming the variable", () => {
  const read = (value: string) =>
    loadEnv(
      { arn: fields.databasePasswordSecretArn },
      { arn: envKey.databasePasswordSecretArn },
      { [envKey.databasePasswordSecretArn]: value },
    );
  expect(read(SECRET).arn).toBe(SECRET);
  expect(() => read("rds!db-platform")).toThrow(
    /DATABASE_PASSWORD_SECRET_ARN: must be a Secrets Manager secret ARN/,
  );
});
