import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

// `npm run plan` as a user runs it: a child Node process (type stripping, ES modules).

const run = promisify(execFile);
const plan = (...args: string[]) =>
  run(process.execPath, ["scripts/plan.ts", ...args], { cwd: process.cwd() });

test("--json writes every resource as {urn, type, name, parent, inputs}; the summary hides secrets", async () => {
  const file = join(mkdtempSync(join(tmpdir(), "plan-")), "dev.json");
  const { stdout } = await plan("--stack", "dev", "--json", file);
  expect(stdout).toMatch(/^stack dev: \d+ resources in \d+ components/);
  expect(stdout).toContain("by type:");
  expect(stdout).toContain("by component:");
  expect(stdout).toContain("placed in zone:");

  const records = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>[];
  expect(records.length).toBeGreaterThan(50);
  for (const r of records) {
    expect(
      Object.keys(r)
        // Resource options, when set, ride along.
        .filter((k) => !["parent", "aliases", "retainOnDelete", "customTimeouts"].includes(k))
        .sort(),
    ).toEqual(["inputs", "name", "type", "urn"]);
    expect(r["urn"]).toEqual(expect.stringMatching(/^urn:pulumi:dev::platform::/));
    if ("parent" in r) expect(records.some((p) => p["urn"] === r["parent"])).toBe(true);
  }
  // A moved resource names where its state was: the target groups, once the tiers'.
  const targetGroup = records.find((r) => String(r["name"]) === "platform-gw-identity-tg")!;
  expect(targetGroup["aliases"]).toContain(
    "urn:pulumi:dev::platform::platform:aws:GatewayTier$aws:lb/targetGroup:TargetGroup::platform-gw-identity-tg",
  );
  const redis = records.find(
    (r) => r["type"] === "aws:elasticache/replicationGroup:ReplicationGroup",
  )!;
  expect((redis["inputs"] as Record<string, unknown>)["authToken"]).toBe("[secret]");
  expect(readFileSync(file, "utf8")).not.toContain("mock-redis-auth-token");
});

test("an unknown stack fails with a message naming the known ones", async () => {
  await expect(plan("--stack", "nope")).rejects.toMatchObject({
    code: 1,
    stderr: expect.stringContaining('unknown stack "nope"'),
  });
});
