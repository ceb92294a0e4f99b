import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { withOrders } from "../../test/support/catalogVariants.ts";

// What an operator who types the commands wrong sees: `npm run upgrade` and `npm start
// --catalog` refuse bad input with one line naming the option or the field, and exit 2 before
// anything starts or moves.

const ROOT = resolve(__dirname, "../..");
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "upgrade-cli-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function node(args: string[], env: NodeJS.ProcessEnv = {}) {
  return new Promise<{ code: number; out: string }>((ok) =>
    execFile(
      process.execPath,
      args,
      { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: "", ...env }, timeout: 60_000 },
      (err, stdout, stderr) =>
        ok({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    ),
  );
}
// Neither key nor token from the environment the tests run in.
const upgradeCli = (args: string[]) =>
  node(["infra/upgrade/main.ts", ...args], { PLATFORM_API_KEY: "", ADMIN_TOKEN: "" });

test.each([
  [[], "say where: --local (a running `npm start`)"],
  [["--local", "--url", "http://127.0.0.1:8080"], "say where: --local"],
  [["--stack", "docker", "--url", "http://127.0.0.1:8080"], "say where: --local"],
  [["--stack", "dev;rm"], '--stack must name a stack, such as docker (got "dev;rm")'],
  [["--stack", "docker", "--catalog", "c.json"], "--stack deploys the checkout's catalog"],
  [["--stack", "docker", "--service", "orders", "--to", "v2"], "--stack needs --api-key"],
  [
    ["--url", "ftp://example.com", "--service", "orders", "--to", "v2"],
    "--url must be the stack's public http(s) URL",
  ],
  [
    ["--url", "http://127.0.0.1:8080", "--service", "orders", "--to", "v2"],
    "--url needs --api-key",
  ],
  [
    ["--url", "http://127.0.0.1:8080", "--service", "orders", "--to", "v2", "--api-key", "sk-x"],
    "--url needs --admin-token",
  ],
  [["--local", "--to", "v2"], "--service is required"],
  [["--local", "--service", "orders", "--to", "two"], "--to must name a version such as v2"],
  [
    ["--local", "--service", "orders", "--to", "v2", "--strategy", "big-bang"],
    '--strategy must be canary or blue-green (got "big-bang")',
  ],
  [["--local", "--service", "nope", "--to", "v2"], "--service: the catalog has no service nope"],
  [["--local", "--service", "orders", "--to", "v2", "--colour"], "Unknown option '--colour'"],
])("npm run upgrade %j is refused: %s", async (args, message) => {
  const { code, out } = await upgradeCli(args);
  expect(out).toContain(`npm run upgrade: ${message}`);
  expect(code).toBe(2);
});

test("npm run upgrade says when no npm start runs, and names a bad catalog's field", async () => {
  const none = await upgradeCli([
    "--local",
    "--data-dir",
    join(dir, "nothing"),
    "--service",
    "orders",
    "--to",
    "v2",
  ]);
  expect(none.out).toMatch(
    /no running `npm start` found: .*operator\.json cannot be read \(ENOENT\)/,
  );
  expect(none.code).toBe(1);

  // A run killed without its shutdown leaves operator.json behind.
  const stale = join(dir, "stale");
  mkdirSync(stale);
  const free = await new Promise<number>((ok) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => ok(port));
    });
  });
  const nobody = `http://127.0.0.1:${free}`;
  writeFileSync(
    join(stale, "operator.json"),
    JSON.stringify({
      url: nobody,
      adminToken: "x".repeat(32),
      tiers: { business: [nobody] },
      monitoring: nobody,
    }),
  );
  const twoVersions = join(dir, "two-versions.json");
  writeFileSync(
    twoVersions,
    JSON.stringify(
      withOrders({
        versions: [
          { name: "v1", weight: 100 },
          { name: "v2", weight: 0 },
        ],
      }),
    ),
  );
  const gone = await upgradeCli([
    "--local",
    "--data-dir",
    stale,
    "--catalog",
    twoVersions,
    "--service",
    "orders",
    "--to",
    "v2",
  ]);
  expect(gone.out).toContain(
    `npm run upgrade: cannot reach ${nobody} (connect ECONNREFUSED 127.0.0.1:${free}): is the \`npm start\` of ${nobody} still running?`,
  );
  expect(gone.code).toBe(1);

  const bad = join(dir, "bad.json");
  writeFileSync(bad, JSON.stringify(withOrders({ versions: [{ name: "v1", weight: 90 }] })));
  const refused = await upgradeCli([
    "--local",
    "--catalog",
    bad,
    "--service",
    "orders",
    "--to",
    "v2",
  ]);
  expect(refused.out).toContain(
    "--catalog: invalid catalog:\n  - catalog.services.orders.versions: weights must add up to 100 (got 90)",
  );
  expect(refused.code).toBe(2);
});

test("npm start refuses a catalog file it cannot use, and a source ref that is no commit", async () => {
  const start = (file: string) =>
    node(["stacks/local/run.ts", "--catalog", file], { PORT: "1", DATA_DIR: join(dir, "data") });
  const missing = await start(join(dir, "missing.json"));
  expect(missing.out).toMatch(
    /npm start: --catalog: invalid catalog:\n {2}- .*missing\.json: ENOENT/,
  );
  expect(missing.code).toBe(2);

  const unknownRef = join(dir, "ref.json");
  writeFileSync(
    unknownRef,
    JSON.stringify(
      withOrders({
        versions: [
          { name: "v1", weight: 100 },
          { name: "v2", weight: 0, source: { ref: "no-such-branch-anywhere" } },
        ],
      }),
    ),
  );
  const ref = await start(unknownRef);
  expect(ref.out).toContain(
    'npm start: a version\'s source: orders v2: source ref "no-such-branch-anywhere" is not a commit',
  );
  expect(ref.code).toBe(2);
});
