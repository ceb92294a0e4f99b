import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, repoRoot } from "../servers/process.ts";
import { TEST_PRINCIPAL_SECRET } from "./serviceApp.ts";

/**
 * One service's own program (`services/<name>/main.ts`) run by Node as a target runs it: for what
 * Jest cannot load in its own module system (node-llama-cpp's ES modules use top-level await).
 */
export interface ServiceProcess {
  url: string;
  proc: ChildProcess;
  /** Its JSON log lines so far, parsed. */
  logs(): Record<string, unknown>[];
  stop(): Promise<void>;
}

export async function startServiceProcess(
  name: string,
  domain: string,
  env: Record<string, string> = {},
  readyMs = 120_000,
): Promise<ServiceProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), `${name}-`));
  const port = await freePort();
  const proc = spawn(process.execPath, [`services/${name}/main.ts`], {
    cwd: repoRoot(),
    env: {
      ...process.env,
      NODE_OPTIONS: "",
      PORT: String(port),
      DOMAIN: domain,
      SERVICE_NAME: name,
      SERVICE_VERSION: "v1",
      DATA_DIR: dataDir,
      PRINCIPAL_SECRET: TEST_PRINCIPAL_SECRET,
      LOG_LEVEL: "debug",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  proc.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + readyMs;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${name} exited ${proc.exitCode}:\n${output}`);
    const ready = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`${name} not ready in ${readyMs} ms:\n${output}`);
    }
    await new Promise((ok) => setTimeout(ok, 200));
  }
  return {
    url,
    proc,
    logs: () =>
      output
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    stop: async () => {
      // A process a test killed has a signalCode and no exit event left to wait for.
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGTERM");
        await once(proc, "exit");
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
