import { spawn } from "node:child_process";
import { join } from "node:path";
import { generateKey } from "../../services/auth/keys.ts";
import { freePorts } from "../../stacks/local/ports.ts";
import type { DataStores } from "./stores.ts";
import { ROOT } from "./topology.ts";

/** A running `npm start` of a bench: its URL, demo key and data folder, and how to stop it. */
export interface LocalRun {
  url: string;
  demoKey: string;
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * `npm start --catalog <file>` on the bench's data stores, with its data and logs under `work`,
 * resolved once it prints its demo key (its ready line).
 */
export async function startLocalRun(args: {
  work: string;
  catalogFile: string;
  stores: DataStores;
  env?: Record<string, string>;
}): Promise<LocalRun> {
  const [port] = await freePorts(1);
  const demoKey = generateKey();
  const dataDir = join(args.work, "data");
  const runner = spawn(process.execPath, ["stacks/local/run.ts", "--catalog", args.catalogFile], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      DEMO_API_KEY: demoKey,
      DATA_DIR: dataDir,
      LOG_DIR: join(args.work, "logs"),
      DATABASE_URL: args.stores.data.databaseUrl,
      REDIS_URL: args.stores.data.redisUrl,
      INFERENCE_LLM: "off",
      ...args.env,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  await new Promise<void>((ok, fail) => {
    runner.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("demo API key:")) ok();
    });
    runner.once("exit", (code) => fail(new Error(`npm start exited (${code}):\n${out}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    demoKey,
    dataDir,
    async stop() {
      runner.kill("SIGINT");
      await new Promise((ok) => runner.once("exit", ok));
    },
  };
}
