import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { catalog, domains, edgeLimits } from "../../infra/catalog/index.ts";
import { createLogger } from "../shared/logger.ts";
import { createMetrics } from "../shared/metrics.ts";
import { createRouter } from "./app.ts";

// The router's body limit comes from the catalog: it lets through whatever body a gateway may
// accept (storage's uploads, 8 MiB and more) and refuses larger ones with a JSON 413 itself.

process.env["LOG_LEVEL"] ??= "silent";

let gateway: Server;
let front: Server;
let router: ReturnType<typeof createRouter>;
let base: string;

const listen = async (server: Server) => {
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

beforeAll(async () => {
  // Stands in for every gateway tier: answers how many body bytes reached it.
  gateway = createServer((req, res) => {
    let bytes = 0;
    req.on("data", (c: Buffer) => (bytes += c.length));
    req.on("end", () => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ bytes }));
    });
  });
  const tier = await listen(gateway);
  router = createRouter({
    catalog,
    tiers: Object.fromEntries(domains(catalog).map((d) => [d.name, [tier]])),
    logger: createLogger("router"),
    metrics: createMetrics("router"),
    draining: () => false,
  });
  front = createServer(router.handler);
  base = await listen(front);
});

afterAll(async () => {
  await router.close();
  await Promise.all([front, gateway].map((s) => new Promise((ok) => s.close(ok))));
});

const upload = (bytes: number) =>
  fetch(`${base}/v1/files`, {
    method: "POST",
    headers: { "content-type": "application/octet-stream" },
    body: Buffer.alloc(bytes, 1),
  });

test("the limit is the largest body a routed service accepts (storage's uploads)", () => {
  expect(edgeLimits(catalog).maxBodyBytes).toBe(
    Math.max(...Object.values(catalog.services).map((s) => s.traffic.maxBodyBytes)),
  );
  expect(edgeLimits(catalog).maxBodyBytes).toBeGreaterThan(8 * 1024 * 1024);
});

test("a body up to the limit reaches the gateway whole", async () => {
  const size = edgeLimits(catalog).maxBodyBytes;
  const res = await upload(size);
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ bytes: size });
});

test("a larger body is refused by the router with a JSON 413", async () => {
  const res = await upload(edgeLimits(catalog).maxBodyBytes + 1);
  expect(res.status).toBe(413);
  expect(await res.json()).toMatchObject({ error: { type: expect.any(String) } });
});
