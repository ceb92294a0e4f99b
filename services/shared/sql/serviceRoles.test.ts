import { randomBytes } from "node:crypto";
import pg from "pg";
import { createDatabase } from "../../../test/servers/index.ts";
import { openDb, type Db } from "./db.ts";
import { migrate } from "./migrate.ts";
import { ensureServiceRoles } from "./serviceRoles.ts";

// One role per service on a real PostgreSQL (issue #14, B5). The bootstrap runs as an RDS master
// would: an owner of the database with CREATEROLE and no superuser. Roles are cluster-wide, so
// this test's names carry a random suffix.

const suffix = randomBytes(3).toString("hex");
const master = `rt_master_${suffix}`;
const iamRole = `rt_iam_${suffix}`;
const orders = `rt_orders_${suffix}`;
const billing = `rt_billing_${suffix}`;

let adminUrl: string;
const asUser = (user: string) => {
  const url = new URL(adminUrl);
  url.username = user;
  return url.toString();
};
const clients: pg.Client[] = [];
const dbs: Db[] = [];

async function connect(user: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: asUser(user) });
  await client.connect();
  clients.push(client);
  return client;
}

async function open(service: string): Promise<Db> {
  const db = await openDb({ service, domain: "d", databaseUrl: asUser(service), dataDir: "" });
  dbs.push(db);
  return db;
}

beforeAll(async () => {
  adminUrl = await createDatabase("roles");
  const admin = await connect("postgres");
  const database = new URL(adminUrl).pathname.slice(1);
  await admin.query(`CREATE ROLE ${master} LOGIN CREATEROLE`);
  await admin.query(`ALTER DATABASE ${database} OWNER TO ${master}`);
  await admin.query(`CREATE ROLE ${iamRole}`);
  // Before B5 every service connected as the master: its tables are the master's.
  const asMaster = await connect(master);
  await asMaster.query(`CREATE SCHEMA ${orders}`);
  await asMaster.query(`CREATE TABLE ${orders}.items (id SERIAL PRIMARY KEY, label TEXT NOT NULL)`);
  await asMaster.query(`INSERT INTO ${orders}.items (label) VALUES ('kept')`);
});

afterAll(async () => {
  for (const db of dbs) await db.close();
  for (const c of clients) await c.end();
});

test("each service gets a role that owns its schema, what the master made in it included", async () => {
  const report = await ensureServiceRoles(
    await connect(master),
    [{ service: orders }, { service: billing }],
    iamRole,
  );
  expect(report.created.sort()).toEqual([billing, orders].sort());
  expect(report.reowned).toEqual([`${orders}.items`]);

  const db = await open(orders);
  // The table from before is the service's now, and its sequence with it.
  await db.query("INSERT INTO items (label) VALUES ('new')");
  expect(await db.query("SELECT label FROM items ORDER BY id")).toEqual([
    { label: "kept" },
    { label: "new" },
  ]);
  expect(await migrate(db, orders, ["CREATE TABLE more (id TEXT PRIMARY KEY)"])).toBe(1);
  // The role signs in with IAM tokens where the server has RDS's role for it.
  const admin = await connect("postgres");
  const member = await admin.query("SELECT pg_has_role($1, $2, 'MEMBER') AS m", [orders, iamRole]);
  expect(member.rows[0]).toEqual({ m: true });
});

test("a service's role reaches no other service's schema, nor public, nor makes schemas", async () => {
  const billingDb = await open(billing);
  await billingDb.query("CREATE TABLE invoices (id TEXT PRIMARY KEY)");
  const asOrders = await connect(orders);
  const refused = async (sql: string) =>
    (await asOrders.query(sql).then(
      () => "allowed",
      (err: { code?: string }) => err.code,
    )) as string;
  expect(await refused(`SELECT * FROM ${billing}.invoices`)).toBe("42501");
  expect(await refused(`CREATE TABLE public.sneaky (id INT)`)).toBe("42501");
  expect(await refused(`CREATE SCHEMA rt_elsewhere_${suffix}`)).toBe("42501");
  expect(await refused(`DROP SCHEMA ${billing} CASCADE`)).toBe("42501");
});

test("a second run changes nothing and keeps the data", async () => {
  const report = await ensureServiceRoles(
    await connect(master),
    [{ service: orders }, { service: billing }],
    iamRole,
  );
  expect(report).toEqual({ created: [], reowned: [] });
  const db = await open(orders);
  expect(await db.query("SELECT count(*)::int AS n FROM items")).toEqual([{ n: 2 }]);
});

test("a name that is no role name is refused before any SQL", async () => {
  await expect(
    ensureServiceRoles(await connect(master), [{ service: 'x"; DROP TABLE y; --' }]),
  ).rejects.toThrow(/is not a role name/);
});
