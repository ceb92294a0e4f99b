import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { freePorts } from "./ports.ts";

test("free ports are distinct, bindable, and outside the range of outgoing connections' ports", async () => {
  const [low] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8")
    .trim()
    .split(/\s+/)
    .map(Number);
  const ports = await freePorts(50);
  expect(new Set(ports).size).toBe(50);
  for (const port of ports) {
    expect(port).toBeGreaterThanOrEqual(10_000);
    expect(port).toBeLessThan(low!);
  }
  // Each one can be listened on by the process it is handed to.
  for (const port of ports) {
    await new Promise<void>((ok, fail) => {
      const s = createServer();
      s.once("error", fail);
      s.listen(port, "127.0.0.1", () => s.close(() => ok()));
    });
  }
});
