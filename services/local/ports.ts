import { createServer, type AddressInfo, type Server } from "node:net";

/**
 * Loopback ports that were free a moment ago, found up front (all held open at once, so that
 * they differ) so that every process of a topology knows its peers' ports before it starts.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((ok, fail) => {
          const s = createServer();
          s.once("error", fail);
          s.listen(0, "127.0.0.1", () => ok(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((ok) => s.close(ok))));
  return ports;
}

/** An `allocatePort` for `localTopology`: hands out `ports` one by one, and fails when they run out. */
export function portAllocator(ports: number[]): () => number {
  return () => {
    const port = ports.shift();
    if (port === undefined) throw new Error("ran out of free ports");
    return port;
  };
}
