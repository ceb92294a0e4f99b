import { execFile } from "node:child_process";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { createDatabase } from "../../test/servers/index.ts";
import { openDb, type Db } from "../shared/sql/db.ts";
import { migrate } from "../shared/sql/migrate.ts";
import { secretRegion } from "../shared/secretArn.ts";
import { keyStore, migrations } from "./store.ts";

// The AWS form of the admin bootstrap: `createAdminKey.ts --secret-id <arn>` on real PostgreSQL,
// writing to a plain HTTP endpoint that answers as Secrets Manager does (no Secrets Manager runs
// here). It proves what the AWS SDK sends (signed for the secret's region, the key in the
// secret's value and nowhere in the output) and what the command does when the write fails.

const SECRET =
  "arn:aws:secretsmanager:eu-west-1:123456789012:secret:platform-admin-bootstrap-AbCdEf";

interface Seen {
  headers: IncomingHttpHeaders;
  body: { SecretId?: string; SecretString?: string };
}

let db: Db;
let databaseUrl: string;
let server: Server;
let endpoint: string;
const seen: Seen[] = [];
let refuse = false;

beforeAll(async () => {
  databaseUrl = await createDatabase("bootstrap");
  db = await openDb({ service: "auth", domain: "identity", databaseUrl, dataDir: "" });
  await migrate(db, "auth", migrations);
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Seen["body"];
    seen.push({ headers: req.headers, body });
    res.setHeader("content-type", "application/x-amz-json-1.1");
    if (refuse) {
      res.writeHead(400).end(
        JSON.stringify({
          __type: "AccessDeniedException",
          message: "not authorized to perform: secretsmanager:PutSecretValue",
        }),
      );
      return;
    }
    res
      .writeHead(200)
      .end(JSON.stringify({ ARN: body.SecretId, Name: "b", VersionId: "v1", VersionStages: [] }));
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  await new Promise<void>((ok) => server.close(() => ok()));
  await db?.close();
});

beforeEach(() => {
  seen.length = 0;
  refuse = false;
});

/** The command as an operator's one-off task runs it: the auth environment plus a role. */
function bootstrap(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [join(__dirname, "createAdminKey.ts"), ...args],
      {
        env: {
          PATH: process.env["PATH"],
          DATABASE_URL: databaseUrl,
          AWS_ACCESS_KEY_ID: "AKIDBOOTSTRAP",
          AWS_SECRET_ACCESS_KEY: "secret",
          AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint,
        },
      },
      (err, stdout, stderr) =>
        done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const keysOf = async (userId: string) => keyStore(db).list(userId);

test("--secret-id writes the key to the secret, signed for its region, and prints no key", async () => {
  const run = await bootstrap(["ops-admin", "--secret-id", SECRET]);
  expect(run).toMatchObject({ code: 0, stderr: "" });
  expect(seen).toHaveLength(1);
  const put = seen[0]!;
  expect(put.headers["x-amz-target"]).toBe("secretsmanager.PutSecretValue");
  expect(put.headers["authorization"]).toMatch(
    /^AWS4-HMAC-SHA256 Credential=AKIDBOOTSTRAP\/\d{8}\/eu-west-1\/secretsmanager\/aws4_request/,
  );
  expect(put.body.SecretId).toBe(SECRET);
  const delivered = JSON.parse(put.body.SecretString!) as { key: string; id: string };
  expect(delivered.key).toMatch(/^sk-/);

  // The output names the key and the secret, never the key itself.
  expect(run.stdout).not.toContain(delivered.key);
  expect(JSON.parse(run.stdout)).toMatchObject({
    id: delivered.id,
    userId: "ops-admin",
    scopes: ["admin"],
    secretArn: SECRET,
  });
  expect(await keyStore(db).verify(delivered.key)).toMatchObject({
    userId: "ops-admin",
    scopes: ["admin"],
  });
});

test("a key that could not be written to the secret is revoked, and the command fails", async () => {
  refuse = true;
  const run = await bootstrap(["denied-admin", "--secret-id", SECRET]);
  expect(run.code).toBe(1);
  expect(run.stderr).toMatch(/failed, key key_\w+ revoked: not authorized/);
  expect(run.stdout).toBe("");
  const written = JSON.parse(seen[0]!.body.SecretString!) as { key: string };
  expect(await keyStore(db).verify(written.key)).toBeNull();
  expect((await keysOf("denied-admin")).map((k) => k.revokedAt !== null)).toEqual([true]);
});

test("a malformed secret ARN or extra arguments are refused before any key is made", async () => {
  for (const args of [
    ["bad-arn-admin", "--secret-id", "platform-admin-bootstrap"],
    ["bad-arn-admin", "--secret-id", "arn:aws:s3:::bucket"],
    ["bad-arn-admin", "second-user"],
    ["bad-arn-admin", "--secret"],
  ]) {
    const run = await bootstrap(args);
    expect([args, run.code]).toEqual([args, 2]);
    expect(run.stderr).toContain("usage: createAdminKey.ts");
  }
  expect(seen).toHaveLength(0);
  expect(await keysOf("bad-arn-admin")).toEqual([]);
});

test("the region comes from the ARN, in every partition", () => {
  expect(secretRegion(SECRET)).toBe("eu-west-1");
  expect(
    secretRegion("arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:x-AbCdEf"),
  ).toBe("us-gov-west-1");
  expect(() =>
    secretRegion("arn:aws:secretsmanager:eu-west-1:123:secret:x", "--secret-id"),
  ).toThrow(/--secret-id must be a Secrets Manager secret ARN/);
});
