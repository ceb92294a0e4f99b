import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, readFileSync } from "node:fs";
import type { ProcessSpec } from "./topology.ts";

interface Child {
  spec: ProcessSpec;
  proc: ChildProcess;
  listening: Promise<void>;
  restarts: number[];
}

export interface SupervisorOptions {
  root: string;
  logDir: string;
  /** Called when a process dies on its own; the supervisor restarts it. */
  onCrash?: (name: string, code: number | null, signal: string | null) => void;
}

/**
 * Starts the local processes, restarts one that dies (as an orchestrator would, at most 5 times
 * a minute), and stops them in order: routers, then gateways, then services, so that nothing
 * is cut off from what it calls while it drains.
 */
export class Supervisor {
  private readonly children = new Map<string, Child>();
  private stopping = false;
  private readonly opts: SupervisorOptions;

  constructor(opts: SupervisorOptions) {
    this.opts = opts;
    mkdirSync(opts.logDir, { recursive: true });
  }

  start(spec: ProcessSpec, restarts: number[] = []): Child {
    const log = createWriteStream(this.logFile(spec.name), { flags: "a" });
    const proc = spawn(process.execPath, [spec.script], {
      cwd: this.opts.root,
      env: { ...process.env, ...spec.env },
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    });
    proc.stdout!.pipe(log);
    proc.stderr!.pipe(log);
    const listening = new Promise<void>((resolve, reject) => {
      proc.on("message", (m: { type?: string }) => m?.type === "listening" && resolve());
      proc.once("exit", (code, signal) =>
        reject(new Error(`${spec.name} exited (${signal ?? code}) before listening`)),
      );
    });
    listening.catch(() => undefined);
    const child: Child = { spec, proc, listening, restarts };
    this.children.set(spec.name, child);
    proc.once("exit", (code, signal) => {
      if (this.stopping) return;
      this.opts.onCrash?.(spec.name, code, signal);
      const now = Date.now();
      const recent = restarts.filter((t) => now - t < 60_000);
      if (recent.length >= 5) return;
      setTimeout(() => !this.stopping && this.start(spec, [...recent, now]), 500).unref();
    });
    return child;
  }

  /**
   * Resolves when every process listens and answers /readyz with 200. A process that crashes on
   * the way is restarted and waited for again; one that keeps crashing, or a timeout, rejects.
   */
  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const names = [...this.children.keys()];
    await Promise.all(
      names.map(async (name) => {
        for (;;) {
          const child = this.children.get(name)!;
          if (Date.now() > deadline) throw new Error(`${name} was not ready in ${timeoutMs} ms`);
          const listening = await child.listening.then(
            () => true,
            () => false,
          );
          if (!listening) {
            if (child.restarts.length >= 4) throw new Error(`${name} keeps crashing`);
            await new Promise((r) => setTimeout(r, 600));
            continue;
          }
          const ok = await fetch(`http://127.0.0.1:${child.spec.port}/readyz`)
            .then((r) => r.ok)
            .catch(() => false);
          if (ok) return;
          await new Promise((r) => setTimeout(r, 100));
        }
      }),
    );
  }

  async stop(graceMs = 15_000): Promise<void> {
    this.stopping = true;
    for (const tier of ["router", "gateway", "service"] as const) {
      await Promise.all(
        [...this.children.values()]
          .filter((c) => c.spec.tier === tier)
          .map((c) => stopChild(c.proc, graceMs)),
      );
    }
  }

  logFile(name: string): string {
    return `${this.opts.logDir}/${name}.log`;
  }

  tail(name: string, lines = 20): string {
    try {
      return readFileSync(this.logFile(name), "utf8")
        .trimEnd()
        .split("\n")
        .slice(-lines)
        .join("\n");
    } catch {
      return "(no log)";
    }
  }
}

function stopChild(proc: ChildProcess, graceMs: number): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
    proc.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    proc.kill("SIGTERM");
  });
}
