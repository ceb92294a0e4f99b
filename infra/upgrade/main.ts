// `npm run upgrade -- --local|--url URL --service orders --to v2 [--strategy canary|blue-green]`
//   Moves one service's traffic to a version of the catalog, step by step (canary) or at once
//   after a smoke test (blue-green), watching monitoring between steps and rolling back at the
//   first breach of the catalog's `upgrade` thresholds. Prints each step with its figures; exits
//   0 when the new version takes all the traffic, 1 when it rolled back or stopped, 2 on a usage
//   error.
//   --local           a running `npm start` (its operator.json: ports and admin token)
//   --url URL         a deployed stack's public edge (its router, ingress or ALB), with
//                     --api-key (an admin key) and --admin-token (the stack's ADMIN_TOKEN)
//   --stack NAME      a stack of this checkout, driven through Pulumi's Automation API with the
//                     CLI and state of `npm run up`: a version it does not run yet goes up at
//                     weight 0 (`pulumi up`, policy pack included), the weights then move
//                     through its public edge (its url output and admin token), and a
//                     `pulumi preview` at the end must show no change; with --api-key
//   --data-dir DIR    the run's DATA_DIR (default .run/data, as `npm start`'s)
//   --catalog FILE    the catalog the platform runs (as `npm start -- --catalog FILE`)
//   --api-key KEY     an admin API key (or PLATFORM_API_KEY): blue-green's smoke test, --url
//   --admin-token T   the stack's admin token (or ADMIN_TOKEN), for monitoring, with --url
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { catalog as defaultCatalog, readCatalogFile } from "../../platform/catalog/index.ts";
import { selectStack } from "../automation.ts";
import { localTarget, readOperatorFile } from "./localTarget.ts";
import { remoteTarget } from "./remoteTarget.ts";
import { stackTarget } from "./stackTarget.ts";
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
        url: { type: "string" },
        "admin-token": { type: "string", default: process.env["ADMIN_TOKEN"] },
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

if ([args.local, args.url, args.stack].filter((where) => where !== undefined).length !== 1)
  usageError(
    "say where: --local (a running `npm start`), --url URL (a deployed stack's edge) or --stack NAME (a stack this checkout deploys), one of them",
  );
if (args.stack !== undefined && !/^[A-Za-z0-9_.-]+$/.test(args.stack))
  usageError(`--stack must name a stack, such as docker (got "${args.stack}")`);
if (args.stack !== undefined && args.catalog !== undefined)
  usageError(
    "--stack deploys the checkout's catalog (platform/catalog/default.ts): drop --catalog",
  );
if (args.stack !== undefined && !args["api-key"])
  usageError("--stack needs --api-key (or PLATFORM_API_KEY): an API key with the admin scope");
const url = (() => {
  if (args.url === undefined) return undefined;
  try {
    const parsed = new URL(args.url);
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new Error("not http(s)");
    return parsed.origin;
  } catch {
    return usageError(`--url must be the stack's public http(s) URL (got "${args.url}")`);
  }
})();
if (url !== undefined && !args["api-key"])
  usageError("--url needs --api-key (or PLATFORM_API_KEY): an API key with the admin scope");
if (url !== undefined && !args["admin-token"])
  usageError("--url needs --admin-token (or ADMIN_TOKEN): the stack's admin token, for monitoring");
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
  const log = (line: string) => console.log(line);
  const target =
    args.stack !== undefined
      ? await stackTarget({
          catalog,
          stack: await selectStack(root, args.stack),
          apiKey: args["api-key"]!,
          policyPack: resolve(root, "policy"),
          log,
        })
      : url !== undefined
        ? remoteTarget({ catalog, url, apiKey: args["api-key"]!, adminToken: args["admin-token"]! })
        : localTarget({
            catalog,
            operator: readOperatorFile(resolve(root, args["data-dir"]!)),
            apiKey: args["api-key"],
          });
  const report = await upgrade({
    service: args.service,
    to: args.to,
    strategy: args.strategy as Strategy,
    policy: spec.upgrade,
    target,
    log,
  });
  console.log(JSON.stringify({ report }));
  process.exit(report.outcome === "completed" ? 0 : 1);
} catch (err) {
  console.error(`npm run upgrade: ${(err as Error).message}`);
  process.exit(1);
}
