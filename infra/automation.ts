import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import * as pulumi from "@pulumi/pulumi";

// The real engine for the project's programs that drive it through the Automation API (the
// Upgrade Manager's `--stack`): the same CLI and the same state as `npm run up`, since both come
// from scripts/pulumi/pulumi.sh (a `pulumi` on PATH or the toolchain kit; the backend and
// passphrase the caller set, else the checkout's .pulumi/).

const run = promisify(execFile);

/** A stack of the project at `root`, selected through the CLI and state `npm run up` uses. */
export async function selectStack(root: string, stackName: string) {
  const { stdout } = await run("bash", [join(root, "scripts/pulumi/pulumi.sh"), "--env"], {
    cwd: root,
    maxBuffer: 1 << 20,
  }).catch((err: Error & { stderr?: string }) => {
    throw new Error(`the Pulumi CLI is not available: ${err.stderr?.trim() || err.message}`, {
      cause: err,
    });
  });
  const settings = new Map(
    stdout
      .trim()
      .split("\n")
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
  const binary = settings.get("PULUMI");
  if (!binary) throw new Error(`scripts/pulumi/pulumi.sh --env named no CLI:\n${stdout}`);
  settings.delete("PULUMI");
  const pulumiCommand = await pulumi.automation.PulumiCommand.get({
    // `root` is the folder above the binary's `bin/`.
    root: dirname(dirname(binary)),
    // The kit's CLI is built from source and may carry a version the SDK does not know.
    skipVersionCheck: true,
  });
  try {
    return await pulumi.automation.LocalWorkspace.selectStack(
      { stackName, workDir: root },
      { pulumiCommand, envVars: Object.fromEntries(settings) },
    );
  } catch (err) {
    throw new Error(
      `no stack ${stackName} in ${settings.get("PULUMI_BACKEND_URL") ?? "the CLI's backend"}: deploy it first (npm run up -- --stack ${stackName})`,
      { cause: err },
    );
  }
}
