import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { accessSync, constants, existsSync, openSync, closeSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** A real server started for tests on loopback. */
export interface TestServer {
  /** How a client reaches it: a connection URL, or `host:port` for Kafka. */
  readonly url: string;
  /** Kills the server's process group and removes its temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

export const INSTALL_HINT = "run 'bash scripts/test-servers/install.sh'";

/** The checkout's root, found from the working directory so this works under jest and node alike. */
export function repoRoot(): string {
  for (let dir = process.cwd(); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "scripts/test-servers/kafka.version"))) return dir;
    if (dirname(dir) === dir) {
      throw new Error(
        `cannot find scripts/test-servers/ above ${process.cwd()}: run from the checkout`,
      );
    }
  }
}

/** The absolute path of `name` on PATH, or undefined. */
export function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this PATH entry
    }
  }
  return undefined;
}

/** A TCP port that was free on 127.0.0.1 a moment ago (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no TCP port assigned");
  return address.port;
}

export function makeTempDir(name: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `test-${name}-`));
}

// Servers run in process groups of their own so that stop() reaches every process they fork; an
// exit hook kills whatever is still running when the test process ends without calling stop().
const liveGroups = new Set<number>();
let exitHookInstalled = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is already gone
  }
}

function trackGroup(pid: number): void {
  liveGroups.add(pid);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const group of liveGroups) killGroup(group, "SIGKILL");
  });
}

function logTail(logFile: string): string {
  try {
    const lines = readFileSync(logFile, "utf8").trimEnd().split("\n");
    return lines.slice(-30).join("\n");
  } catch {
    return "(no log)";
  }
}

export interface CommandArgs {
  /** Used in error messages. */
  name: string;
  command: string;
  args: string[];
  /** The server's own temp dir: its working directory, removed by stop(). */
  dir: string;
  /** Where the command's stdout and stderr go; its tail is quoted when it fails. */
  logFile: string;
  env?: NodeJS.ProcessEnv;
  /** Run as this user (PostgreSQL refuses to run as root). */
  uid?: number;
  gid?: number;
}

export interface RunCommandArgs extends CommandArgs {
  timeoutMs: number;
}

/** Runs a command to completion (e.g. initdb) with its output in `logFile`; throws if it fails. */
export async function runToCompletion(args: RunCommandArgs): Promise<void> {
  const fd = openSync(args.logFile, "a");
  const child = spawn(args.command, args.args, {
    cwd: args.dir,
    env: args.env ?? process.env,
    stdio: ["ignore", fd, fd],
    uid: args.uid,
    gid: args.gid,
  });
  closeSync(fd);
  const code = await new Promise<number | string>((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), args.timeoutMs);
    child.once("error", (error) => resolve(error.message));
    child.once("exit", (status, signal) => {
      clearTimeout(timer);
      resolve(status ?? signal ?? "unknown");
    });
  });
  if (code !== 0) {
    throw new Error(`${args.name}: ${args.command} failed (${code}):\n${logTail(args.logFile)}`);
  }
}

export interface SpawnServerArgs extends CommandArgs {
  /** The signal for a quick clean shutdown; SIGKILL follows if it takes too long. */
  stopSignal: NodeJS.Signals;
  /** Resolves once the server answers a real request; rejects while it does not yet. */
  ready: () => Promise<void>;
  startTimeoutMs: number;
}

/**
 * Starts a server as the leader of a new process group, waits until `ready` succeeds, and
 * returns its stop function. Fails fast with the log's tail if the process exits early.
 */
export async function spawnServer(args: SpawnServerArgs): Promise<() => Promise<void>> {
  const fd = openSync(args.logFile, "a");
  const child: ChildProcess = spawn(args.command, args.args, {
    cwd: args.dir,
    env: args.env ?? process.env,
    stdio: ["ignore", fd, fd],
    detached: true,
    uid: args.uid,
    gid: args.gid,
  });
  closeSync(fd);
  // A detached child must not keep the test process alive on its own.
  child.unref();

  let exitReason: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once("error", (error) => {
      exitReason = error.message;
      resolve();
    });
    child.once("exit", (code, signal) => {
      exitReason = `exited with ${code ?? signal}`;
      resolve();
    });
  });
  const pid = child.pid;
  if (pid !== undefined) trackGroup(pid);

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (pid !== undefined) {
      killGroup(pid, args.stopSignal);
      const timer = setTimeout(() => killGroup(pid, "SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
      // Anything the leader left behind in its group goes too.
      killGroup(pid, "SIGKILL");
      liveGroups.delete(pid);
    }
    await rm(args.dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + args.startTimeoutMs;
  let lastError: unknown;
  while (exitReason === undefined && Date.now() < deadline) {
    try {
      await args.ready();
      return stop;
    } catch (error) {
      lastError = error;
    }
    await Promise.race([sleep(200), exited]);
  }
  const log = logTail(args.logFile);
  await stop();
  const why =
    exitReason !== undefined
      ? exitReason
      : `did not answer within ${args.startTimeoutMs} ms (last probe: ${String(lastError)})`;
  throw new Error(`${args.name} (${args.command}) ${why}; its log ends with:\n${log}`);
}
