// `npm run upgrade -- --local --service orders --to v2 [--strategy canary|blue-green]`
//   Moves a running `npm start`'s traffic for one service to a version of the catalog, step by
//   step (canary) or at once after a smoke test (blue-green), watching monitoring between steps
//   and rolling back at the first breach of the catalog's `upgrade` thresholds. Prints each step
//   with its figures; exits 0 when the new version takes all the traffic, 1 when it rolled back
//   or stopped, 2 on a usage error.
//   --data-dir DIR    the run's DATA_DIR (default .run/data, as `npm start`'s)
//   --catalog FILE    the catalog the run started with (as `npm start -- --catalog FILE`)
//   --api-key KEY     an admin API key (or PLATFORM_API_KEY), for blue-green's smoke test
// The Pulumi stacks (`--stack NAME`) are not wired yet (issue #19).
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { catalog as defaultCatalog, readCatalogFile } from "../../platform/catalog/index.ts";
import { localTarget, readOperatorFile } from "./localTarget.ts";
import { upgrade, type Strategy } from "./manager.ts";

const root = resolve(import.meta.dirname, "../..");

function usageError(message: string): never {
  console.error(`npm run upgrade: ${message}`);
  process.exit(2);
}

const args = (() => {
  try {
    return parseArgs({
      options: {
        local: { type: "boolean" },
        stack: { type: "string" },
        service: { type: "string" },
        to: { type: "string" },
        strategy: { type: "string", default: "canary" },
        "data-dir": { type: "string", default: process.env["DATA_DIR"] || ".run/data" },
        catalog: { type: "string" },
        "api-key": { type: "string", default: process.env["PLATFORM_API_KEY"] },
      },
    }).values;
  } catch (err) {
    return usageError((err as Error).message);
  }
})();

if (args.stack !== undefined)
  usageError(
    "--stack: upgrading a Pulumi stack is not built yet (issue #19); --local upgrades a running `npm start`",
  );
if (!args.local) usageError("say where: --local (a running `npm start`)");
if (!args.service) usageError("--service is required (a service of the catalog)");
if (!args.to || !/^v[0-9]+$/.test(args.to)) usageError("--to must name a version such as v2");
if (args.strategy !== "canary" && args.strategy !== "blue-green")
  usageError(`--strategy must be canary or blue-green (got "${args.strategy}")`);

const catalog = (() => {
  try {
    return args.catalog ? readCatalogFile(args.catalog) : defaultCatalog;
  } catch (err) {
    return usageError(`--catalog: ${(err as Error).message}`);
  }
})();
const spec = catalog.services[args.service];
if (!spec) usageError(`--service: the catalog has no service ${args.service}`);

try {
  const operator = readOperatorFile(resolve(root, args["data-dir"]!));
  const report = await upgrade({
    service: args.service,
    to: args.to,
    strategy: args.strategy as Strategy,
    policy: spec.upgrade,
    target: localTarget({ catalog, operator, apiKey: args["api-key"] }),
    log: (line) => console.log(line),
  });
  console.log(JSON.stringify({ report }));
  process.exit(report.outcome === "completed" ? 0 : 1);
} catch (err) {
  console.error(`npm run upgrade: ${(err as Error).message}`);
  process.exit(1);
}
