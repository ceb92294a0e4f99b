import { execFile, spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";

// Whether the tests that need a real Docker engine run, skip, or fail.
//
// - An engine answers (`docker info`): they run.
// - None answers and CI is set: they start one with scripts/docker/dockerd.sh (which installs
//   Debian's docker.io if needed) and fail if that does not work, so CI never passes by skipping.
// - None answers and CI is not set: they skip and say why. A developer's `npm test` does not
//   install and start a root daemon behind their back; scripts/docker/dockerd.sh does it on demand.

export const ROOT = resolve(__dirname, "../..");

const run = promisify(execFile);

/** `CI` as CI systems set it (`true`, `1`); empty, `0` and `false` mean a developer's machine. */
export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = (env["CI"] ?? "").trim().toLowerCase();
  return value !== "" && value !== "0" && value !== "false";
}

export function engineAnswers(): boolean {
  return spawnSync("docker", ["info"], { stdio: "ignore", timeout: 20_000 }).status === 0;
}

export type EnginePlan = { mode: "run" } | { mode: "start" } | { mode: "skip"; reason: string };

/** What the Docker tests do on this machine (see the module comment). */
export function enginePlan(answers = engineAnswers(), ci = inCi()): EnginePlan {
  if (answers) return { mode: "run" };
  if (ci) return { mode: "start" };
  return {
    mode: "skip",
    reason:
      "no Docker engine answers `docker info` and CI is not set: start one with " +
      "`bash scripts/docker/dockerd.sh` to run the image tests (with CI=true they start it themselves)",
  };
}

/** Runs `bash scripts/docker/<script>` from the checkout; its output joins the error on failure. */
export async function script(
  name: string,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<string> {
  try {
    const { stdout } = await run("bash", [resolve(ROOT, "scripts/docker", name), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `scripts/docker/${name} failed: ${e.message}\n${e.stdout ?? ""}${e.stderr ?? ""}`,
      { cause: err },
    );
  }
}

/** Runs the docker CLI and returns its trimmed stdout; stderr joins the error on failure. */
export async function docker(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run("docker", args, { maxBuffer: 16 * 1024 * 1024 });
    return stdout.trim();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`docker ${args.slice(0, 2).join(" ")} failed: ${e.stderr || e.message}`, {
      cause: err,
    });
  }
}
