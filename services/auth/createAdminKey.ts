import { catalog } from "../../infra/catalog/index.ts";
import { envKey, fields, loadEnv } from "../shared/config.ts";
import { openDb } from "../shared/sql/db.ts";
import { migrate } from "../shared/sql/migrate.ts";
import { generateKey } from "./keys.ts";
import { keyStore, migrations } from "./store.ts";

// The admin bootstrap (docs/identity.md): makes an API key with the `admin` scope, straight in
// auth's database, and prints it once. Run it where the auth service runs, with its environment
// (DATABASE_URL, or DATA_DIR for the embedded store):
//   node services/auth/createAdminKey.ts [user-id]     (user id default: admin)
// Every later admin, user and key is made through the API with such a key.

const env = loadEnv(
  { databaseUrl: fields.databaseUrl, dataDir: fields.dataDir },
  { databaseUrl: envKey.databaseUrl, dataDir: envKey.dataDir },
);
const userId = process.argv[2] ?? "admin";
if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(userId)) {
  console.error(`user id ${JSON.stringify(userId)}: use letters, digits, _ . - (max 64)`);
  process.exit(2);
}
const db = await openDb({
  service: "auth",
  domain: catalog.services["auth"]!.domain,
  databaseUrl: env.databaseUrl,
  dataDir: env.dataDir,
});
try {
  await migrate(db, "auth", migrations);
  const key = generateKey();
  const record = await keyStore(db).add(userId, "admin (bootstrap)", key, "free", ["admin"]);
  console.log(JSON.stringify({ ...record, key }));
} finally {
  await db.close();
}
