import { readFileSync } from "node:fs";

// Resident memory of a process, from /proc (Linux). Three views, because the processes of the
// local topology run one Node binary: its code pages are resident once in RAM but counted in
// every process's RSS, so a sum of RSS (what `ps` shows) counts them 32 times.

export interface Resident {
  /** Resident set size, shared pages included in full (what `ps` shows). */
  rssKiB: number;
  /** Proportional set size: each shared page divided among the processes that map it. */
  pssKiB: number;
  /** Pages no other process maps (the unique set): what stopping this process gives back. */
  ussKiB: number;
}

/** The resident memory of `pid`, or undefined when it is gone. */
export function residentMemory(pid: number): Resident | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  } catch {
    return undefined;
  }
  const kib = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0);
  return {
    rssKiB: kib("Rss"),
    pssKiB: kib("Pss"),
    ussKiB: kib("Private_Clean") + kib("Private_Dirty"),
  };
}

/** The command line of `pid`, arguments split. */
export function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return [];
  }
}

/** One variable of `pid`'s environment (readable for the user's own processes). */
export function environmentOf(pid: number, name: string): string | undefined {
  try {
    const entry = readFileSync(`/proc/${pid}/environ`, "utf8")
      .split("\0")
      .find((e) => e.startsWith(`${name}=`));
    return entry?.slice(name.length + 1);
  } catch {
    return undefined;
  }
}

export const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
