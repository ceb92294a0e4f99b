import { readFileSync, readdirSync } from "node:fs";

// CPU time of processes, from /proc (Linux): what a hop really costs on a machine whose cores
// every process shares. Throughput alone cannot tell it: a proxy that runs on an otherwise idle
// core lowers no throughput while the single-threaded service behind it is the bottleneck.

/** Clock ticks per second of /proc's utime and stime: 100 on Linux (USER_HZ). */
const TICKS_PER_SECOND = 100;

/** Fields after the command name (which may hold spaces) of /proc/<pid>/stat. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** User + system CPU time of one process so far, in ms (0 when it is gone). */
export function cpuMs(pid: number): number {
  const f = statFields(pid);
  // After the name: state(0) ppid(1) ... utime(11) stime(12).
  return f ? ((Number(f[11]) + Number(f[12])) * 1000) / TICKS_PER_SECOND : 0;
}

/** The processes whose parent is `pid` (nginx's workers under its master). */
export function childPids(pid: number): number[] {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((p) => statFields(p)?.[1] === String(pid));
}

/** CPU time used by groups of processes between `start` and `read`. */
export class CpuMeter {
  private readonly groups: Record<string, () => number[]>;
  private base: Record<string, number> = {};

  /** `groups`: name -> the pids to add up, asked each time (a process may be replaced). */
  constructor(groups: Record<string, () => number[]>) {
    this.groups = groups;
  }

  private snapshot(): Record<string, number> {
    return Object.fromEntries(
      Object.entries(this.groups).map(([name, pids]) => [
        name,
        pids().reduce((sum, pid) => sum + cpuMs(pid), 0),
      ]),
    );
  }

  start(): void {
    this.base = this.snapshot();
  }

  /** ms of CPU per group since `start`. */
  read(): Record<string, number> {
    const now = this.snapshot();
    return Object.fromEntries(Object.entries(now).map(([k, v]) => [k, v - (this.base[k] ?? 0)]));
  }
}

/** Pids whose command line contains `text` (arguments joined by spaces), e.g. a server's port. */
export function pidsByCommandLine(text: string): number[] {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0").join(" ").includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}
