import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDatabase } from "../../test/servers/index.ts";
import { ownedPage } from "./pagination.ts";
import { openDb, type Db } from "./sql/db.ts";

// Keyset pages of one owner's rows on both engines: the owner's and the caller's narrowing
// (`equal`) hold on every page, the first and those after a cursor alike.

const dir = mkdtempSync(join(tmpdir(), "pagination-"));
const dbs: Db[] = [];
afterAll(async () => {
  await Promise.all(dbs.map((db) => db.close()));
  rmSync(dir, { recursive: true, force: true });
});

const engines: Array<[string, () => Promise<Db>]> = [
  [
    "postgres",
    async () =>
      openDb({
        service: "pages",
        domain: "test",
        databaseUrl: await createDatabase("pagination"),
        dataDir: "",
      }),
  ],
  ["sqlite", () => openDb({ service: "pages", domain: "test", dataDir: dir })],
];

describe.each(engines)("ownedPage on %s", (_engine, open) => {
  let db: Db;
  beforeAll(async () => {
    db = await open();
    dbs.push(db);
    await db.query("CREATE TABLE files (id TEXT PRIMARY KEY, user_id TEXT, purpose TEXT)");
    // Ids sort by time: f09 is the newest. Alice owns the odd ones (fine-tune and model in turn),
    // Bob the even ones.
    for (let i = 1; i <= 9; i++) {
      const user = i % 2 ? "alice" : "bob";
      const purpose = i % 4 === 1 ? "fine-tune" : "model";
      await db.query("INSERT INTO files (id, user_id, purpose) VALUES ($1, $2, $3)", [
        `f0${i}`,
        user,
        purpose,
      ]);
    }
  });

  const ids = (rows: Array<{ id: string }>) => rows.map((r) => r.id);
  const page = (after: string | undefined, equal: Record<string, unknown> = {}) =>
    ownedPage(db, "files", "alice", { limit: 2, after }, (r: { id: string }) => r, equal);

  test("a narrowed list keeps its narrowing after the cursor", async () => {
    const first = await page(undefined, { purpose: "fine-tune" });
    expect([ids(first.items), first.hasMore]).toEqual([["f09", "f05"], true]);
    const second = await page("f05", { purpose: "fine-tune" });
    expect([ids(second.items), second.hasMore]).toEqual([["f01"], false]);
  });

  test("pages hold the owner's rows only", async () => {
    const first = await page(undefined);
    const second = await page("f07");
    expect([...ids(first.items), ...ids(second.items)]).toEqual(["f09", "f07", "f05", "f03"]);
  });
});
