import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

/**
 * How long the whole catalog may take to come up: about thirty Node processes on two cores, each
 * compiling its TypeScript and migrating its store. A test's beforeAll waits a little longer.
 */
export const TOPOLOGY_READY_MS = 180_000;

export const ROOT = resolve(__dirname, "../..");

/** A running `npm start` (the local runner), with its own port, data and log folders. */
export interface RunningTopology {
  url: string;
  apiKey: string;
  /** The run's DATA_DIR (where it writes operator.json). */
  dataDir: string;
  proc: ChildProcess;
  output: () => string;
  logDir: string;
  /** Pid of one local process, read from the last line of its JSON log (every line carries `pid`). */
  pidOf: (name: string) => number;
  /** The port one local process listens on, from its `listening` log line. */
  portOf: (name: string) => number;
  /** Where a router replica answers its details and metrics (OPS_PORT), from its log. */
  opsPortOf: (name: string) => number;
  stop: () => Promise<number | null>;
}

/**
 * One process's log, split into its JSON lines (every line the logger writes) and the others:
 * what Node itself prints to stderr, such as the location and stack of an uncaught exception.
 */
function readLog(logDir: string, name: string) {
  const records: Array<Record<string, unknown>> = [];
  const stray: string[] = [];
  for (const line of readFileSync(join(logDir, `${name}.log`), "utf8").split("\n")) {
    if (line.trim() === "") continue;
    try {
      records.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      stray.push(line);
    }
  }
  return { records, stray };
}

const logLines = (logDir: string, name: string) => readLog(logDir, name).records;

/**
 * The lines of each process's log that are not the logger's JSON, by process (those with any):
 * a process that threw past its handlers wrote its exception there, and a test that asserts
 * this is empty shows the exception instead of failing to parse it.
 */
export function strayLogLines(logDir: string): Record<string, string[]> {
  return Object.fromEntries(
    processNames(logDir)
      .map((name) => [name, readLog(logDir, name).stray] as const)
      .filter(([, stray]) => stray.length > 0),
  );
}

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => ok(port));
    });
  });
}

export async function startTopology(
  env: Record<string, string> = {},
  args: string[] = [],
): Promise<RunningTopology> {
  const dir = mkdtempSync(join(tmpdir(), "platform-e2e-"));
  const logDir = join(dir, "logs");
  const port = await freePort();
  const apiKey = `sk-test-${Math.random().toString(36).slice(2)}abcdefghijklmnop`;
  const proc = spawn(process.execPath, ["stacks/local/run.ts", ...args], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      DEMO_API_KEY: apiKey,
      DATA_DIR: join(dir, "data"),
      LOG_DIR: logDir,
      // Two replicas of the language model are 1 GB and a slower start for each topology: only
      // the tests that talk to it turn it on; elsewhere the n-gram model stands in for it.
      INFERENCE_LLM: "off",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((ok) => proc.once("exit", (code) => ok(code)));

  await new Promise<void>((ok, fail) => {
    const timer = setTimeout(() => {
      // A runner left behind would hold its ports and replicas for the rest of the run.
      proc.kill("SIGTERM");
      setTimeout(() => proc.kill("SIGKILL"), 10_000).unref();
      fail(new Error(`topology not ready in ${TOPOLOGY_READY_MS / 1000} s:\n${out}`));
    }, TOPOLOGY_READY_MS);
    const check = () => {
      if (out.includes(`ready http://127.0.0.1:${port}`) && out.includes("demo API key:")) {
        clearTimeout(timer);
        ok();
      }
    };
    proc.stdout!.on("data", check);
    void exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`runner exited (${code}) before ready:\n${out}`));
    });
  });

  return {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    dataDir: join(dir, "data"),
    proc,
    output: () => out,
    logDir,
    pidOf(name) {
      return logLines(logDir, name).at(-1)!["pid"] as number;
    },
    portOf(name) {
      return logLines(logDir, name).findLast((l) => l["msg"] === "listening")!["port"] as number;
    },
    opsPortOf(name) {
      return Number(
        logLines(logDir, name).findLast((l) => l["msg"] === "ops port listening")!["port"],
      );
    },
    async stop() {
      if (proc.exitCode === null) proc.kill("SIGINT");
      const code = await exited;
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}

/** Names of the local processes, from their log files. */
export function processNames(logDir: string): string[] {
  return readdirSync(logDir)
    .filter((f) => f.endsWith(".log"))
    .map((f) => f.slice(0, -4))
    .sort();
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * An API key of a new user on the free plan, made as an operator makes one: an admin key minted
 * from the auth database (services/auth/createAdminKey.ts), then the user and its key over the
 * public API of the running topology at `url`.
 */
export async function newUsersKey(
  url: string,
  databaseUrl: string,
  email: string,
): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [join(ROOT, "services/auth/createAdminKey.ts")],
    { cwd: ROOT, env: { ...process.env, DATABASE_URL: databaseUrl, NODE_OPTIONS: "" } },
  );
  const admin = `Bearer ${(JSON.parse(stdout) as { key: string }).key}`;
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method: "POST",
      headers: { authorization: admin, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, string>;
  };
  const user = await post("/v1/users", { email, name: email.split("@")[0], plan: "free" });
  return (await post("/v1/auth/keys", { name: "test", userId: user["id"] }))["key"]!;
}
