import type { ProcessSpec } from "./topology.ts";

/** `orders-2` -> `orders`, `identity-gateway-1` -> `identity-gateway`, `orders-v2-1` -> `orders-v2`. */
export const groupOf = (name: string) => name.replace(/-\d+$/, "");

/**
 * For `Supervisor.waitReady`'s `onReady`: prints a line each time a group of replicas is all
 * ready, so that someone waiting for `npm start`'s `ready` sees what is up and what is not yet.
 */
export function readinessProgress(
  all: readonly ProcessSpec[],
  print: (line: string) => void,
  seconds: () => number = () => process.uptime(),
): (name: string) => void {
  const pending = new Map<string, number>();
  for (const s of all) pending.set(groupOf(s.name), (pending.get(groupOf(s.name)) ?? 0) + 1);
  const size = new Map(pending);
  let ready = 0;
  return (name) => {
    ready++;
    const group = groupOf(name);
    const left = (pending.get(group) ?? 1) - 1;
    pending.set(group, left);
    if (left > 0) return;
    const waiting = [...pending].filter(([, n]) => n > 0).map(([g]) => g);
    // The last few are named: those are what a slow start is waiting for.
    const named =
      waiting.length > 0 && waiting.length <= 4 ? ` · waiting for ${waiting.join(", ")}` : "";
    print(
      `  ${group} ready (${size.get(group)}) · ${ready}/${all.length} processes, ${seconds().toFixed(1)} s${named}`,
    );
  };
}
