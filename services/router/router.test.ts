import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { catalog, domains, edgeLimits } from "../../platform/catalog/index.ts";
import { createLogger } from "../shared/logger.ts";
import { createMetrics } from "../shared/metrics.ts";
import { createRouter } from "./app.ts";

// The router's body limit comes from the catalog: it lets through whatever body a gateway may
// accept (storage's uploads, 8 MiB and more) and refuses larger ones with a JSON 413 itself.
// Bodies stream through as the gateway reads them (which it does after the key check), and a
// gateway replica that refuses the connection costs no upload.

process.env["LOG_LEVEL"] ??= "silent";

let gateway: Server;
let front: Server;
let router: ReturnType<typeof createRouter>;
let base: string;
let tier: string;

const listen = async (server: Server) => {
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

beforeAll(async () => {
  // Stands in for every gateway tier: answers how many body bytes reached it, or, under
  // /v1/refused, refuses at once without reading the body, as a gateway does a caller with no key.
  gateway = createServer((req, res) => {
    if (req.url?.startsWith("/v1/refused")) {
      res.writeHead(401, { "content-type": "application/json", connection: "close" });
      return void res.end('{"error":{"code":"invalid_api_key"}}');
    }
    let bytes = 0;
    req.on("data", (c: Buffer) => (bytes += c.length));
    req.on("end", () => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ bytes }));
    });
  });
  tier = await listen(gateway);
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

test("a body is not held by the router: the gateway's refusal comes before the body ends", async () => {
  // 16 KiB announced, 1 KiB sent, and no more: a router that read bodies before forwarding them
  // would never pass this request on.
  const url = new URL(base);
  const answer = await new Promise<{ status: number; text: string }>((ok, fail) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method: "POST",
        path: "/v1/refused",
        headers: { "content-type": "application/json", "content-length": String(16 * 1024) },
        agent: false,
      },
      (res) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.once("end", () => {
          ok({ status: res.statusCode ?? 0, text });
          req.destroy();
        });
      },
    );
    req.once("error", (err) => (req.destroyed ? undefined : fail(err)));
    req.write(Buffer.alloc(1024, 0x20));
  });
  expect(answer.status).toBe(401);
  expect(JSON.parse(answer.text)).toMatchObject({ error: { code: "invalid_api_key" } });
});

test("a gateway replica that refuses the connection costs no upload: the next one gets it whole", async () => {
  const twoTiers = createRouter({
    catalog,
    // Port 1 refuses every connection; the live replica must get each upload, every byte.
    tiers: Object.fromEntries(domains(catalog).map((d) => [d.name, ["http://127.0.0.1:1", tier]])),
    logger: createLogger("router"),
    metrics: createMetrics("router"),
    draining: () => false,
  });
  const server = createServer(twoTiers.handler);
  const url = await listen(server);
  try {
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${url}/v1/files`, {
        method: "POST",
        headers: { "content-type": "application/octet-stream" },
        body: Buffer.alloc(200 * 1024, 1),
      });
      expect([res.status, await res.json()]).toEqual([200, { bytes: 200 * 1024 }]);
    }
  } finally {
    await twoTiers.close();
    await new Promise((ok) => server.close(ok));
  }
});

test("a gateway replica that dies once it has the body: a request safe to repeat goes to the next, whole", async () => {
  // Reads each body whole, then breaks the connection without an answer, as a killed process.
  const dying = createServer((req) => {
    req.resume();
    req.once("end", () => req.socket.destroy());
  });
  const dyingUrl = await listen(dying);
  const twoTiers = createRouter({
    catalog,
    tiers: Object.fromEntries(domains(catalog).map((d) => [d.name, [dyingUrl, tier]])),
    logger: createLogger("router"),
    metrics: createMetrics("router"),
    draining: () => false,
  });
  const server = createServer(twoTiers.handler);
  const url = await listen(server);
  try {
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${url}/v1/orders`, {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": `replay-${i}` },
        body: Buffer.alloc(10 * 1024, 0x20),
      });
      expect([res.status, await res.json()]).toEqual([200, { bytes: 10 * 1024 }]);
    }
  } finally {
    await twoTiers.close();
    await new Promise((ok) => server.close(ok));
    dying.closeAllConnections();
    await new Promise((ok) => dying.close(ok));
  }
});

test("the web console goes to the default domain's tier; other paths outside /v1 are a JSON 404", async () => {
  for (const path of ["/console", "/console/lib/browser/console.ts"]) {
    const res = await fetch(`${base}${path}`);
    expect({ path, status: res.status }).toEqual({ path, status: 200 });
  }
  for (const path of ["/consoles", "/admin/versions", "/"]) {
    const res = await fetch(`${base}${path}`);
    expect({ path, status: res.status }).toEqual({ path, status: 404 });
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe(
      "invalid_request_error",
    );
  }
});

test("a service's version weights go to that service's own tier", async () => {
  const named = (name: string) =>
    createServer((req, res) => {
      req.resume();
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ tier: name }));
    });
  const tiers = domains(catalog).map((d) => ({ domain: d.name, server: named(d.name) }));
  const urls = await Promise.all(tiers.map((t) => listen(t.server)));
  const split = createRouter({
    catalog,
    tiers: Object.fromEntries(tiers.map((t, i) => [t.domain, [urls[i]!]])),
    logger: createLogger("router"),
    metrics: createMetrics("router"),
    draining: () => false,
  });
  const splitFront = createServer(split.handler);
  const at = await listen(splitFront);
  try {
    for (const [service, domain] of [
      ["auth", catalog.services["auth"]!.domain],
      ["orders", catalog.services["orders"]!.domain],
      ["nonesuch", catalog.defaultDomain],
    ] as const) {
      const res = await fetch(`${at}/v1/versions/${service}`, { method: "PUT", body: "{}" });
      expect({ service, ...((await res.json()) as object) }).toEqual({ service, tier: domain });
    }
    expect(catalog.services["auth"]!.domain).not.toBe(catalog.services["orders"]!.domain);
  } finally {
    await split.close();
    await Promise.all(
      [splitFront, ...tiers.map((t) => t.server)].map((s) => new Promise((ok) => s.close(ok))),
    );
  }
});
