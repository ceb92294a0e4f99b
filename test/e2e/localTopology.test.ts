import { execFileSync } from "node:child_process";
import { catalog, domains, services } from "../../platform/catalog/index.ts";
import {
  isAlive,
  processNames,
  startTopology,
  strayLogLines,
  type RunningTopology,
  TOPOLOGY_READY_MS,
} from "../support/localTopology.ts";

// `npm start` as a user runs it: embedded stores, the default catalog, requests through the
// router, the gateway tiers and the services, and a replica killed under traffic.

let topo: RunningTopology;
let auth: Record<string, string>;

beforeAll(async () => {
  topo = await startTopology();
  auth = { authorization: `Bearer ${topo.apiKey}` };
}, TOPOLOGY_READY_MS + 30_000);

afterAll(async () => {
  await topo?.stop();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the assertions check the shape
type Json = Record<string, any>;

async function call(path: string, init: RequestInit = {}) {
  const res = await fetch(`${topo.url}${path}`, init);
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: text ? (JSON.parse(text) as Json) : {},
  };
}

const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { ...auth, "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});

test("prints the ready line and the demo key, and runs every replica of the catalog", () => {
  expect(topo.output()).toContain(`ready ${topo.url}`);
  expect(topo.output()).toContain(`demo API key: ${topo.apiKey}`);
  const expected = [
    ...services(catalog).flatMap((s) => replicaNames(s.name, s.replicas)),
    ...domains(catalog).flatMap((d) => replicaNames(`${d.name}-gateway`, d.gateway.replicas)),
    ...replicaNames("router", catalog.router.replicas),
  ];
  expect(processNames(topo.logDir)).toEqual(expected.sort());
});

test("an identity route reaches the auth service with the caller's principal", async () => {
  const res = await call("/v1/auth/whoami", { headers: auth });
  expect(res.status).toBe(200);
  expect(res.body).toEqual({
    principal: { userId: "demo-user", keyId: expect.stringMatching(/^key_/), plan: "free" },
  });
  expect(res.headers.get("x-request-id")).toBeTruthy();
});

test("a business route stores and lists orders", async () => {
  const created = await call("/v1/orders", json({ item: "notebook", quantity: 3 }));
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({
    object: "order",
    item: "notebook",
    quantity: 3,
    userId: "demo-user",
  });
  const fetched = await call(`/v1/orders/${created.body.id}`, { headers: auth });
  expect(fetched.body).toEqual(created.body);
  const list = await call("/v1/orders?limit=100", { headers: auth });
  expect(list.body.data.map((o: { id: string }) => o.id)).toContain(created.body.id);
});

test("a repeated create with the same Idempotency-Key returns the first order", async () => {
  const init = json({ item: "pen", quantity: 1 }, { "idempotency-key": "e2e-same-key" });
  const first = await call("/v1/orders", init);
  const second = await call("/v1/orders", init);
  expect(second.body.id).toBe(first.body.id);
  expect(second.headers.get("idempotent-replayed")).toBe("true");
});

test("no key, a malformed key and an unknown key get 401 with a JSON error", async () => {
  for (const headers of [
    {},
    { authorization: "Bearer nope" },
    { authorization: "Bearer sk-unknownunknownunknownunknown" },
  ]) {
    const res = await call("/v1/orders", { headers });
    expect(res.status).toBe(401);
    expect(res.body.error).toMatchObject({ type: "authentication_error", code: "invalid_api_key" });
  }
});

test("a header cannot impersonate another principal", async () => {
  const res = await call("/v1/auth/whoami", {
    headers: { ...auth, "x-principal-user": "someone-else" },
  });
  expect(res.body.principal.userId).toBe("demo-user");
});

const raw = (contentType: string, body: string): RequestInit => ({
  method: "POST",
  headers: { ...auth, "content-type": contentType },
  body,
});

// Requests are built inside each test: the key is only known once the topology runs.
test.each<[string, () => RequestInit, number, string | null]>([
  ["an empty item", () => json({ item: "", quantity: 1 }), 400, "item"],
  ["a negative quantity", () => json({ item: "x", quantity: -1 }), 400, "quantity"],
  ["an unknown field", () => json({ item: "x", quantity: 1, price: 3 }), 400, null],
  ["a string quantity", () => json({ item: "x", quantity: "1" }), 400, "quantity"],
  ["a JSON array", () => json([1, 2]), 400, null],
  ["broken JSON", () => raw("application/json", "{bad"), 400, null],
  ["a form body", () => raw("text/plain", "x=1"), 415, null],
  [
    "a body over the gateway's limit",
    () => json({ item: "x".repeat(2 * 1024 * 1024), quantity: 1 }),
    413,
    null,
  ],
])("%s is a 4xx with a JSON error", async (_what, init, status, param) => {
  const res = await call("/v1/orders", init());
  expect(res.status).toBe(status);
  expect(res.body.error.type).toBe("invalid_request_error");
  if (param) expect(res.body.error.param).toBe(param);
});

test("the API's OpenAPI document and reference page answer without a key", async () => {
  const doc = await call("/v1/openapi.json");
  expect(doc.status).toBe(200);
  expect(doc.body["openapi"]).toBe("3.1.0");
  expect(Object.keys(doc.body["paths"])).toEqual(
    expect.arrayContaining(["/v1/orders", "/v1/chat/completions", "/v1/files/{id}/content"]),
  );
  const page = await fetch(`${topo.url}/v1/docs`);
  expect(page.status).toBe(200);
  expect(page.headers.get("content-type")).toMatch(/^text\/html/);
  expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
  const html = await page.text();
  for (const src of html.match(/(?<=(src|href)=")\/[^"]+/g) ?? []) {
    const asset = await fetch(`${topo.url}${src}`);
    expect([src, asset.status]).toEqual([src, 200]);
    await asset.arrayBuffer();
  }
  // Nothing else opens: an unknown asset is the usual JSON 404, and the API still wants a key.
  expect((await call("/v1/docs/anything")).body["error"]).toMatchObject({
    code: "route_not_found",
  });
  expect((await call("/v1/orders")).status).toBe(401);
});

test("unknown paths are JSON 404s at the router and at the gateway", async () => {
  const outside = await call("/nothing-here");
  expect(outside.status).toBe(404);
  expect(outside.body.error.code).toBe("route_not_found");
  const inside = await call("/v1/nothing-here", { headers: auth });
  expect(inside.status).toBe(404);
  expect(inside.body.error.code).toBe("route_not_found");
});

test("every process answers /healthz, /readyz and /metrics", async () => {
  for (const name of processNames(topo.logDir)) {
    // A router keeps its details and metrics on its ops port (finding 10 of issue #13).
    const port = name.startsWith("router-") ? topo.opsPortOf(name) : topo.portOf(name);
    const base = `http://127.0.0.1:${port}`;
    for (const path of ["/healthz", "/readyz"])
      expect([name, path, (await fetch(base + path)).status]).toEqual([name, path, 200]);
    const metrics = await fetch(`${base}/metrics`).then((r) => r.text());
    expect(metrics).toContain("http_requests_total");
  }
  const routerMetrics = await Promise.all(
    processNames(topo.logDir)
      .filter((name) => name.startsWith("router-"))
      .map((name) =>
        fetch(`http://127.0.0.1:${topo.opsPortOf(name)}/metrics`).then((r) => r.text()),
      ),
  );
  expect(routerMetrics.join("\n")).toContain('http_requests_total{route="/v1/orders"');
});

// Writes carry an Idempotency-Key, as the API asks: a write whose connection broke after it was
// sent may have been stored, so without a key the gateway must not send it again (it answers 503
// and the caller decides); with one it is retried on the other replica.
test("a service replica killed under traffic costs no failed request, and comes back", async () => {
  const victim = topo.pidOf("orders-1");
  process.kill(victim, "SIGKILL");
  const statuses: number[] = [];
  for (let i = 0; i < 30; i++) {
    statuses.push((await call("/v1/orders?limit=1", { headers: auth })).status);
    statuses.push(
      (
        await call(
          "/v1/orders",
          json({ item: `after-kill-${i}`, quantity: 1 }, { "idempotency-key": `after-kill-${i}` }),
        )
      ).status,
    );
  }
  expect(statuses.filter((s) => s !== 200 && s !== 201)).toEqual([]);
  await waitFor(() => topo.pidOf("orders-1") !== victim && isAlive(topo.pidOf("orders-1")));
});

// Every line a process writes is the logger's JSON; anything else is Node's own report of an
// exception nothing handled (a CI run of aa0379b met one and could only say it was not JSON).
test("no process wrote anything but its JSON log lines", () => {
  expect(strayLogLines(topo.logDir)).toEqual({});
});

test("Ctrl-C stops every process and the runner exits 0", async () => {
  const pids = processNames(topo.logDir).map((name) => topo.pidOf(name));
  expect(await topo.stop()).toBe(0);
  expect(pids.filter(isAlive)).toEqual([]);
  expect(topo.output()).toContain("stopped");
  // Nothing of ours is left listening on the port.
  expect(() => execFileSync("curl", ["-sf", `${topo.url}/healthz`])).toThrow();
});

function replicaNames(name: string, replicas: number): string[] {
  return Array.from({ length: replicas }, (_, i) => `${name}-${i + 1}`);
}

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 100));
  }
}
