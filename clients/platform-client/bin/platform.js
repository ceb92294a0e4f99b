#!/usr/bin/env node
// `npx platform`: in this checkout, the TypeScript sources, which Node runs itself from 22.18 on
// (an older Node hands over to the repository's Node 24, scripts/with-node24.sh, as `npm start`
// does); installed from npm (no sources), the built CLI in dist/.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath, URL } from "node:url";

const sources = new URL("../src/cli.ts", import.meta.url);
const built = new URL("../dist/cli.js", import.meta.url);
const withNode24 = new URL("../../../scripts/with-node24.sh", import.meta.url);
const [major, minor] = process.versions.node.split(".").map(Number);
const strips = major > 22 || (major === 22 && minor >= 18);
if (existsSync(sources) && strips) {
  await import(sources.href);
} else if (existsSync(sources) && existsSync(withNode24)) {
  const run = spawnSync(
    "bash",
    [fileURLToPath(withNode24), "node", fileURLToPath(sources), ...process.argv.slice(2)],
    { stdio: "inherit" },
  );
  process.exitCode = run.status ?? 1;
} else if (existsSync(built)) {
  await import(built.href);
} else {
  console.error(
    `platform: the CLI needs Node 22.18 or later (this is ${process.version}), or a build: npm run build -w @resilient-gateway-platform/client`,
  );
  process.exitCode = 1;
}
