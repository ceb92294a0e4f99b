import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import type { ProcessSpec } from "./topology.ts";

interface Child {
  spec: ProcessSpec;
  proc: ChildProcess;
  listening: Promise<void>;
  restarts: number[];
  /** Stopped on purpose (stopProcess): not restarted when it exits. */
  stopped: boolean;
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
    // The child writes its stdout and stderr to its log file itself: piped through here, every
    // log line would cost this process a read and a write, and the throughput bench's load
    // generator is this process (bench/README.md).
    const log = openSync(this.logFile(spec.name), "a");
    let proc: ChildProcess;
    try {
      proc = spawn(process.execPath, [spec.script], {
        cwd: spec.cwd ?? this.opts.root,
        env: { ...process.env, ...spec.env },
        stdio: ["ignore", log, log, "ipc"],
      });
    } finally {
      closeSync(log);
    }
    const listening = new Promise<void>((resolve, reject) => {
      proc.on("message", (m: { type?: string }) => m?.type === "listening" && resolve());
      proc.once("exit", (code, signal) =>
        reject(new Error(`${spec.name} exited (${signal ?? code}) before listening`)),
      );
    });
    listening.catch(() => undefined);
    const child: Child = { spec, proc, listening, restarts, stopped: false };
    this.children.set(spec.name, child);
    proc.once("exit", (code, signal) => {
      if (this.stopping || child.stopped) return;
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
   * `onReady` hears of each process as it becomes ready, for a progress report.
   */
  async waitReady(
    timeoutMs: number,
    names = [...this.children.keys()],
    onReady?: (name: string) => void,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
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
          if (ok) return onReady?.(name);
          await new Promise((r) => setTimeout(r, 100));
        }
      }),
    );
  }

  /** The pid of a running process, for a drill that signals it as an outage would (SIGKILL). */
  pid(name: string): number {
    const pid = this.child(name).proc.pid;
    if (pid === undefined) throw new Error(`${name} has no pid: it did not start`);
    return pid;
  }

  /**
   * Stops one process gracefully (SIGTERM, SIGKILL after `graceMs`) and keeps it stopped, as
   * scaling a deployment down would, until `startProcess`.
   */
  async stopProcess(name: string, graceMs = 15_000): Promise<void> {
    const child = this.child(name);
    child.stopped = true;
    await stopChild(child.proc, graceMs);
  }

  /** Starts again a process that `stopProcess` stopped; resolves when it is ready. */
  async startProcess(name: string, timeoutMs = 60_000): Promise<void> {
    const child = this.child(name);
    if (!child.stopped) throw new Error(`${name} is running: stop it first`);
    this.start(child.spec);
    await this.waitReady(timeoutMs, [name]);
  }

  /**
   * A rolling-update step for one replica: drain and stop it, start its successor on the same
   * port, and resolve once the successor answers /readyz.
   */
  async restartProcess(name: string, timeoutMs = 60_000): Promise<void> {
    await this.stopProcess(name, timeoutMs);
    await this.startProcess(name, timeoutMs);
  }

  private child(name: string): Child {
    const child = this.children.get(name);
    if (!child) throw new Error(`no process named ${name}`);
    return child;
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
