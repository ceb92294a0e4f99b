#!/usr/bin/env node
// `npx platform`: in this checkout, the TypeScript sources, which Node runs itself from 22.18 on;
// installed from npm (no sources), the built CLI in dist/.
import { existsSync } from "node:fs";
import { URL } from "node:url";

const sources = new URL("../src/cli.ts", import.meta.url);
const built = new URL("../dist/cli.js", import.meta.url);
const [major, minor] = process.versions.node.split(".").map(Number);
const strips = major > 22 || (major === 22 && minor >= 18);
if (existsSync(sources) && strips) {
  await import(sources.href);
} else if (existsSync(built)) {
  await import(built.href);
} else {
  console.error(
    `platform: this checkout runs the CLI from its TypeScript sources, which needs Node 22.18 or later (this is ${process.version}). ` +
      "Run it as `npm run platform -- <command>` (which brings Node 24), or build it first: npm run build -w @resilient-gateway-platform/client",
  );
  process.exitCode = 1;
}
