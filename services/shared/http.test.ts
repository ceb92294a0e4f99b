import type { AddressInfo } from "node:net";
import { pino } from "pino";
import { createApp, finishApp } from "./http.ts";
import { createMetrics } from "./metrics.ts";

async function readyz(opts: Partial<Parameters<typeof createApp>[0]>) {
  const logger = pino({ level: "silent" });
  const app = createApp({
    logger,
    metrics: createMetrics("test"),
    ready: async () => ({}),
    ...opts,
  });
  finishApp(app, logger);
  const server = app.listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  } finally {
    server.close();
  }
}

describe("/readyz", () => {
  test("a dependency of this replica's own decides readiness", async () => {
    expect((await readyz({ ready: async () => ({ postgres: false }) })).status).toBe(503);
    expect((await readyz({ ready: async () => ({ postgres: true }) })).status).toBe(200);
  });

  test("upstreams are reported but never take a proxy out of rotation (no cascade)", async () => {
    const res = await readyz({ upstreams: async () => ({ orders: false }) });
    expect(res.status).toBe(200);
    expect(res.body["upstreams"]).toEqual({ orders: false });
  });

  test("a draining process is not ready", async () => {
    expect((await readyz({ draining: () => true })).status).toBe(503);
  });
});
