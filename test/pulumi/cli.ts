import { execFileSync, spawn } from "node:child_process";
import { cpSync, createWriteStream, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { repoRoot } from "../servers/process.ts";

// The real Pulumi CLI for the tests: the binary that scripts/pulumi/pulumi.sh provides (a
// `pulumi` on PATH, or the toolchain kit built into its cache), run on a copy of the project in a
// temporary directory with a file backend and a passphrase of the test's own. A copy, so that a
// test may edit the catalog and `pulumi stack init` never touches the checkout's stack files.

// Found from the working directory, as test/servers does: jest's CommonJS and Node's own ES modules
// (npm run emulate:aws) both load this file, and only one of them has `__dirname`.
export const ROOT = repoRoot();

let binary: string | undefined;

/**
 * The time limit of the tests that run the CLI. Whichever of them runs first on a fresh machine
 * builds the kit (15-17 min, bench/README.md) in its first hook, synchronously: the limit must
 * cover that as well as the test itself.
 */
export const PULUMI_TEST_TIMEOUT_MS = 45 * 60_000;

/** The `pulumi` to run; builds the kit the first time on a machine without one (minutes). */
export function pulumiBinary(): string {
  binary ??= execFileSync("bash", [join(ROOT, "scripts/pulumi/pulumi.sh"), "--ensure"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  }).trim();
  return binary;
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export class PulumiError extends Error {
  readonly result: Result;

  constructor(args: string[], result: Result) {
    super(
      `pulumi ${args.join(" ")} exited ${result.code}\n--- stdout\n${result.stdout.slice(-6000)}\n--- stderr\n${result.stderr.slice(-6000)}`,
    );
    this.name = "PulumiError";
    this.result = result;
  }
}

/** A copy of the checkout (tracked and new files, as they are now), sharing its node_modules. */
export function copyProject(): string {
  const dir = mkdtempSync(join(tmpdir(), "platform-project-"));
  const files = execFileSync(
    "git",
    ["ls-files", "-z", "--cached", "--others", "--exclude-standard", "--deduplicate"],
    { cwd: ROOT, encoding: "utf8" },
  )
    .split("\0")
    .filter((f) => f !== "");
  for (const file of files) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    try {
      cpSync(join(ROOT, file), join(dir, file));
    } catch (err) {
      // A file git still lists but the working tree deleted is not part of the project now.
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  return dir;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  /** Default ten minutes; the CLI is stopped then and the result says so by its exit code. */
  timeoutMs?: number;
  /** A folder of the copy to run in (a fixture project); default its root. */
  cwd?: string;
  /** A file that gets the output as it comes, for a long run to be followed (`tail -f`). */
  tee?: string;
}

/** One project copy with its own state and passphrase, and the stacks created in it. */
export class Workspace {
  readonly dir = copyProject();
  private readonly state = mkdtempSync(join(tmpdir(), "platform-state-"));

  private readonly extraEnv: NodeJS.ProcessEnv;

  constructor(extraEnv: NodeJS.ProcessEnv = {}) {
    this.extraEnv = extraEnv;
  }

  /**
   * What a program that runs the CLI in the copy needs: the CLI on PATH, this copy's state and
   * passphrase (the Automation API of `npm run upgrade -- --stack` reads the same).
   */
  get env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      PATH: `${dirname(pulumiBinary())}:${process.env["PATH"] ?? ""}`,
      PULUMI_BACKEND_URL: `file://${this.state}`,
      PULUMI_CONFIG_PASSPHRASE: "platform-tests-passphrase",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      ...this.extraEnv,
    };
  }

  /** Runs `pulumi args` in the copy; resolves with the result whatever the exit code. */
  exec(args: string[], opts: RunOptions = {}): Promise<Result> {
    return new Promise((done, fail) => {
      const child = spawn(pulumiBinary(), args, {
        cwd: join(this.dir, opts.cwd ?? "."),
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...this.env, ...opts.env },
      });
      let stdout = "";
      let stderr = "";
      const tee = opts.tee ? createWriteStream(opts.tee) : undefined;
      child.stdout.on("data", (d: Buffer) => {
        stdout += d.toString();
        tee?.write(d);
      });
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
        tee?.write(d);
      });
      const timer = setTimeout(() => child.kill("SIGTERM"), opts.timeoutMs ?? 10 * 60_000);
      child.on("error", fail);
      child.on("close", (code) => {
        clearTimeout(timer);
        tee?.end();
        done({ code: code ?? -1, stdout, stderr });
      });
    });
  }

  /** Runs `pulumi args` and fails, with its output, unless it exits 0. */
  async run(args: string[], opts: RunOptions = {}) {
    const result = await this.exec(args, opts);
    if (result.code !== 0) throw new PulumiError(args, result);
    return result;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
    rmSync(this.state, { recursive: true, force: true });
  }
}
