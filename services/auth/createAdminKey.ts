import { parseArgs } from "node:util";
import { loadRuntimeCatalog } from "../../platform/catalog/runtime.ts";
import { envKey, fields, loadEnv } from "../shared/config.ts";
import { openDb } from "../shared/sql/db.ts";
import { migrate } from "../shared/sql/migrate.ts";
import { secretRegion } from "../shared/secretArn.ts";
import { putBootstrapKey } from "./bootstrapSecret.ts";
import { generateKey } from "./keys.ts";
import { keyStore, migrations } from "./store.ts";

// The admin bootstrap (docs/identity.md): makes an API key with the `admin` scope, straight in
// auth's database. Run it where the auth service runs, with its environment (DATABASE_URL, or
// DATA_DIR for the embedded store):
//   node services/auth/createAdminKey.ts [user-id]                     prints the key once
//   node services/auth/createAdminKey.ts [user-id] --secret-id <arn>   writes it to that secret
// (user id default: admin). On AWS the key goes to the stack's bootstrap secret, never to the
// task's log. Every later admin, user and key is made through the API with such a key.

const usage = "usage: createAdminKey.ts [user-id] [--secret-id <secret ARN>]";
let args: { userId: string; secretArn?: string };
try {
  const { values, positionals } = parseArgs({
    options: { "secret-id": { type: "string" } },
    allowPositionals: true,
  });
  if (positionals.length > 1) throw new Error(`one user id at most, got ${positionals.length}`);
  args = { userId: positionals[0] ?? "admin", secretArn: values["secret-id"] };
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(args.userId))
    throw new Error(`user id ${JSON.stringify(args.userId)}: use letters, digits, _ . - (max 64)`);
  if (args.secretArn !== undefined) secretRegion(args.secretArn, "--secret-id");
} catch (err) {
  console.error(`${(err as Error).message}\n${usage}`);
  process.exit(2);
}

const env = loadEnv(
  {
    databaseUrl: fields.databaseUrl,
    databaseAuth: fields.databaseAuth,
    dataDir: fields.dataDir,
  },
  {
    databaseUrl: envKey.databaseUrl,
    databaseAuth: envKey.databaseAuth,
    dataDir: envKey.dataDir,
  },
);
const db = await openDb({
  service: "auth",
  domain: (await loadRuntimeCatalog()).services["auth"]!.domain,
  databaseUrl: env.databaseUrl,
  databaseAuth: env.databaseAuth,
  // ECS sets AWS_REGION in every task.
  region: process.env[envKey.awsRegion],
  dataDir: env.dataDir,
});
try {
  await migrate(db, "auth", migrations);
  const key = generateKey();
  const keys = keyStore(db);
  const record = await keys.add(args.userId, "admin (bootstrap)", key, "free", ["admin"]);
  if (args.secretArn === undefined) {
    console.log(JSON.stringify({ ...record, key }));
  } else {
    try {
      await putBootstrapKey(args.secretArn, { ...record, key });
      console.log(JSON.stringify({ ...record, secretArn: args.secretArn }));
    } catch (err) {
      // Nobody can read a key that was not delivered: it must not stay valid.
      await keys.revoke(undefined, record.id);
      console.error(
        `writing the key to ${args.secretArn} failed, key ${record.id} revoked: ${(err as Error).message}`,
      );
      process.exitCode = 1;
    }
  }
} finally {
  await db.close();
}
