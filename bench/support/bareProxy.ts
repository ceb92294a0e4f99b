import { spawn } from "node:child_process";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export interface BareProxy {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts bareProxyServer.ts on `port` in front of `upstream` (host:port) and waits for it. */
export async function startBareProxy(port: number, upstream: string): Promise<BareProxy> {
  const proc = spawn(
    process.execPath,
    [join(import.meta.dirname, "bareProxyServer.ts"), String(port), upstream],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((ok) => proc.once("exit", ok));
      proc.kill("SIGTERM");
      await exited;
    }
  };
  for (const deadline = Date.now() + 10_000; ; await sleep(100)) {
    if (proc.exitCode !== null)
      throw new Error(`the bare proxy exited at start (${proc.exitCode})`);
    if (
      await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    ) {
      return { url, pid: proc.pid!, stop };
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error("the bare proxy did not answer in 10 s");
    }
  }
}
