// `npm start`: the whole default topology as local Node processes, on loopback only.
//   npm start -- --replicas N    N replicas of every service, gateway tier and router (1 to 8;
//                                REPLICAS=N does the same; default: the catalog's counts)
//   npm start -- --catalog FILE  a catalog of your own (JSON, the schema of
//                                platform/catalog/schema.ts) instead of the default one
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { catalog as defaultCatalog, readCatalogFile } from "../../platform/catalog/index.ts";
import { serviceWithRole } from "../../platform/catalog/topology.ts";
import { entrypoint, envKey } from "../../platform/runtimeEnv.ts";
import { SOURCES_DIR, sourceTrees } from "../../infra/sourceTrees.ts";
import { generateKey } from "../../services/auth/keys.ts";
import { fields, loadEnv } from "../../services/shared/config.ts";
import { freePorts, portAllocator } from "./ports.ts";
import { readinessProgress } from "./progress.ts";
import { Supervisor } from "./supervisor.ts";
import { localTopology } from "./topology.ts";

const root = resolve(import.meta.dirname, "../..");

/** A command-line mistake: one line naming the option, and the exit code of a usage error. */
function usageError(message: string): never {
  console.error(`npm start: ${message}`);
  process.exit(2);
}

const cli = (() => {
  try {
    return parseArgs({ options: { replicas: { type: "string" }, catalog: { type: "string" } } })
      .values;
  } catch (err) {
    return usageError((err as Error).message);
  }
})();
const env = loadEnv(
  {
    port: fields.port.default(8080),
    demoApiKey: fields.apiKey,
    databaseUrl: fields.databaseUrl,
    redisUrl: fields.redisUrl,
    kafkaBrokers: fields.kafkaBrokers,
    dataDir: fields.dataDir,
    logDir: fields.dataDir.default(".run/logs"),
    replicas: fields.replicas.optional(),
  },
  {
    port: envKey.port,
    demoApiKey: envKey.demoApiKey,
    databaseUrl: envKey.databaseUrl,
    redisUrl: envKey.redisUrl,
    kafkaBrokers: envKey.kafkaBrokers,
    dataDir: envKey.dataDir,
    logDir: "LOG_DIR",
    replicas: "REPLICAS",
  },
);
const replicasOption = fields.replicas.optional().safeParse(cli.replicas);
if (!replicasOption.success) {
  usageError(`--replicas: ${replicasOption.error.issues[0]?.message} (got "${cli.replicas}")`);
}
const replicas = replicasOption.data ?? env.replicas;
const catalog = (() => {
  try {
    return cli.catalog ? readCatalogFile(cli.catalog) : defaultCatalog;
  } catch (err) {
    return usageError(`--catalog: ${(err as Error).message}`);
  }
})();
const sources = await sourceTrees(catalog, root, resolve(root, SOURCES_DIR)).catch((err: Error) =>
  usageError(`a version's source: ${err.message}`),
);
// What the operators (and `npm run upgrade`) send to the gateways' /admin: the caller's
// ADMIN_TOKEN, else one per run, as a stack generates one.
const adminToken = process.env[envKey.adminToken] || randomBytes(24).toString("base64url");

const demoApiKey = env.demoApiKey ?? generateKey();
const plan = (allocatePort: () => number) =>
  localTopology(catalog, {
    routerPort: env.port,
    allocatePort,
    data: { databaseUrl: env.databaseUrl, redisUrl: env.redisUrl, kafkaBrokers: env.kafkaBrokers },
    dataDir: resolve(root, env.dataDir),
    demoApiKey,
    compileCacheDir: resolve(root, ".run/node-compile-cache"),
    replicas,
    sourceTrees: sources,
    adminToken,
    // A young generation of 1 MiB (V8's default grows to 16): a fifth less memory over the
    // topology, measured by bench/memory.ts; the throughput bench runs without it.
    nodeOptions: [process.env["NODE_OPTIONS"], "--max-semi-space-size=1"].filter(Boolean).join(" "),
  });
// Every process but the routers' shared public one takes one port: count them on a dry plan.
const specs = plan(portAllocator(await freePorts(plan(() => 0).length)));

const logDir = resolve(root, env.logDir);
// What an operator's tool needs to reach this run (`npm run upgrade -- --local`): readable by
// this user alone, as it holds the admin token, and gone when the run stops.
const operatorFile = join(resolve(root, env.dataDir), "operator.json");
const supervisor = new Supervisor({
  root,
  logDir,
  onCrash: (name, code, signal) =>
    console.error(`${name} exited (${signal ?? code}); restarting. Log: ${logDir}/${name}.log`),
});

let stopping = false;
const shutdown = async (code: number) => {
  if (stopping) return;
  stopping = true;
  console.log("stopping...");
  rmSync(operatorFile, { force: true });
  await supervisor.stop();
  console.log("stopped");
  process.exit(code);
};
process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));

const stores = [
  env.databaseUrl ? "PostgreSQL" : "embedded SQLite",
  env.redisUrl ? "Redis" : "in-memory cache",
  env.kafkaBrokers ? "Kafka" : "event files",
].join(", ");
console.log(`starting ${specs.length} processes (${stores}); logs in ${logDir}`);
for (const spec of specs) supervisor.start(spec);
try {
  await supervisor.waitReady(60_000, undefined, readinessProgress(specs, console.log));
} catch (err) {
  console.error(`failed to start: ${(err as Error).message}`);
  const name = /^(\S+)/.exec((err as Error).message)?.[1];
  if (name) console.error(supervisor.tail(name));
  await shutdown(1);
}

const url = `http://127.0.0.1:${env.port}`;
// The status page is served by a monitoring replica on its loopback port, not through the public
// router: it shows the internal topology (docs/monitoring.md).
const monitoring = serviceWithRole(catalog, "monitoring");
const monitor = monitoring && specs.find((s) => s.script === entrypoint(monitoring.name));
const statusLine = monitor
  ? [`status page: http://127.0.0.1:${monitor.port}/v1/monitoring/status`]
  : [];
const tiers: Record<string, string[]> = {};
for (const g of specs.filter((s) => s.tier === "gateway"))
  (tiers[g.env[envKey.domain]!] ??= []).push(`http://127.0.0.1:${g.port}`);
mkdirSync(dirname(operatorFile), { recursive: true });
writeFileSync(
  operatorFile,
  JSON.stringify({
    url: `http://127.0.0.1:${env.port}`,
    adminToken,
    tiers,
    monitoring: monitor ? `http://127.0.0.1:${monitor.port}` : undefined,
  }),
  { mode: 0o600 },
);
// One write, so that whoever waits for the ready line gets the key with it.
console.log(
  [
    `ready ${url}`,
    `demo API key: ${demoApiKey}`,
    `try: curl -H "Authorization: Bearer ${demoApiKey}" ${url}/v1/auth/whoami`,
    ...statusLine,
    "Ctrl-C stops everything.",
  ].join("\n"),
);
