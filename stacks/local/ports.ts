import { readFileSync } from "node:fs";
import { createServer, type AddressInfo, type Server } from "node:net";

/**
 * The range the kernel takes the local ports of outgoing connections from. A port found free
 * there can be taken by any client socket before the process meant to listen on it starts (a
 * topology of 32 processes opens hundreds of connections), so listeners are placed below it.
 */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8")
      .trim()
      .split(/\s+/)
      .map(Number);
    if (low && high && low < high) return [low, high];
  } catch {
    // Not Linux: assume its default range.
  }
  return [32768, 60999];
}

/** Below this are the ports well-known servers use (5432, 6379, 8080, 9092...). */
const FLOOR = 10_000;

function listen(port: number): Promise<Server | undefined> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", (err: NodeJS.ErrnoException) =>
      err.code === "EADDRINUSE" || err.code === "EACCES" ? ok(undefined) : fail(err),
    );
    s.listen(port, "127.0.0.1", () => ok(s));
  });
}

/**
 * Loopback ports that were free a moment ago, found up front (all held open at once, so that
 * they differ) so that every process of a topology knows its peers' ports before it starts.
 * They are taken from a random point between FLOOR and the ephemeral range, so that topologies
 * started side by side rarely try the same ones.
 */
export async function freePorts(count: number): Promise<number[]> {
  const [low] = ephemeralRange();
  const span = low - FLOOR;
  const held: Server[] = [];
  try {
    if (span >= count * 4) {
      const start = Math.floor(Math.random() * span);
      for (let i = 0; i < span && held.length < count; i++) {
        const server = await listen(FLOOR + ((start + i) % span));
        if (server) held.push(server);
      }
    }
    // No room below the ephemeral range (an unusual kernel setting): let the kernel choose.
    while (held.length < count) held.push((await listen(0))!);
    return held.map((s) => (s.address() as AddressInfo).port);
  } finally {
    await Promise.all(held.map((s) => new Promise((ok) => s.close(ok))));
  }
}

/** An `allocatePort` for `localTopology`: hands out `ports` one by one, and fails when they run out. */
export function portAllocator(ports: number[]): () => number {
  return () => {
    const port = ports.shift();
    if (port === undefined) throw new Error("ran out of free ports");
    return port;
  };
}
