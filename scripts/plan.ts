import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { runProgram } from "../test/plan/harness.ts";
import type { Records } from "../test/plan/records.ts";

// `npm run plan -- --stack dev [--json FILE]`: runs the Pulumi program under mocks (no cloud,
// no CLI) and prints what it would create. Secret values print as [secret].

function table(title: string, counts: Map<string, number>): string {
  const rows = [...counts].sort(([a], [b]) => a.localeCompare(b));
  const width = Math.max(...rows.map(([k]) => k.length), 10);
  return [`${title}:`, ...rows.map(([k, n]) => `  ${k.padEnd(width)}  ${n}`)].join("\n");
}

function count<T>(items: T[], key: (item: T) => string | undefined): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) {
    const k = key(item);
    if (k !== undefined) counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return counts;
}

export function summary(stack: string, records: Records, outputs: Record<string, unknown>): string {
  const all = [...records.all];
  const custom = all.filter((r) => !r.type.startsWith("platform:"));
  // Which zones hold each placed resource (subnets, NATs, services, data stores, the ALB).
  const zoneCounts = new Map<string, number>();
  for (const r of custom) {
    const zones =
      r.type === "aws:ec2/subnet:Subnet"
        ? [String(r.inputs["availabilityZone"])]
        : records.zonesOf(r);
    for (const z of zones) zoneCounts.set(z, (zoneCounts.get(z) ?? 0) + 1);
  }
  return [
    `stack ${stack}: ${custom.length} resources in ${all.length - custom.length} components`,
    table(
      "by type",
      count(custom, (r) => r.type),
    ),
    table(
      "by component",
      count(custom, (r) => {
        const c = records.componentOf(r);
        return c ? `${c.type.replace("platform:", "")} ${c.name}` : "(stack)";
      }),
    ),
    table("placed in zone", zoneCounts),
    `outputs:\n${JSON.stringify(outputs, null, 2).replace(/^/gm, "  ")}`,
  ].join("\n\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { stack: { type: "string" }, json: { type: "string" } },
  });
  if (!values.stack) throw new Error("usage: npm run plan -- --stack <name> [--json FILE]");
  const { records, outputs } = await runProgram({ stack: values.stack });
  if (values.json) {
    writeFileSync(values.json, `${JSON.stringify(records.all, null, 2)}\n`);
  }
  console.log(summary(values.stack, records, outputs));
  if (values.json) console.log(`\nwrote ${records.all.length} resources to ${values.json}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
