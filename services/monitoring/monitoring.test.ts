import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Express } from "express";
import { principal, serveApp, type ServedApp } from "../../test/support/serviceApp.ts";
import { dlqMetrics } from "../gateway/dlqModel.ts";
import { gatewayMetrics } from "../gateway/metrics.ts";
import { mcpMetrics } from "../mcp/metrics.ts";
import { checkAnswers } from "../shared/answerCheck.ts";
import { createApp, finishApp } from "../shared/http.ts";
import { createLogger } from "../shared/logger.ts";
import { createMetrics } from "../shared/metrics.ts";
import { renderMetrics } from "../render/worker.ts";
import { statusPage } from "./page.ts";
import { videoMetrics } from "../video/driver.ts";
import { workflowMetrics } from "../workflows/metrics.ts";
import { monitoringApi } from "./api.ts";
import { monitoringRoutes } from "./app.ts";
import { overviewSchema } from "./contract.ts";
import { parsePrometheus, sum } from "./prometheus.ts";
import { createScraper, p95Between, type Scraper } from "./scraper.ts";

// The monitoring service against real HTTP replicas built from the platform's own app and
// metrics code: health, readiness, Prometheus text parsed back, rates from counter deltas,
// breakers and DLQ depth from a gateway's metrics, DNS discovery, and who may see the page.

process.env["LOG_LEVEL"] ??= "silent";

interface ErrorJson {
  error: { code: string };
}

interface Replica {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** A replica with the platform's app (health, metrics, 404s) and extra routes; `host` to bind. */
async function replica(
  name: string,
  extra: (app: Express, metrics: ReturnType<typeof createMetrics>) => void = () => undefined,
  host = "127.0.0.1",
): Promise<Replica> {
  const logger = createLogger(name);
  const metrics = createMetrics(name);
  const app = createApp({ logger, metrics, ready: async () => ({ postgres: true }) });
  extra(app, metrics);
  app.get("/fail", () => {
    throw new Error("boom");
  });
  finishApp(app, logger);
  const server: Server = createServer(app);
  await new Promise<void>((ok) => server.listen(0, host, ok));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

test("the parser reads prom-client's output back, escapes and special values included", async () => {
  const metrics = createMetrics("parse-test");
  const gm = gatewayMetrics(metrics.registry);
  metrics.requests.inc({ route: "/v1/orders", method: "GET", status: "200", upstream: "" }, 3);
  metrics.requests.inc({ route: 'a"b\\c\nd', method: "POST", status: "503", upstream: "x" });
  gm.breakerState.set({ upstream: "orders" }, 1);
  const samples = parsePrometheus(await metrics.registry.metrics());
  expect(sum(samples, "http_requests_total")).toBe(4);
  expect(samples.find((s) => s.labels["route"] === 'a"b\\c\nd')).toMatchObject({
    labels: { program: "parse-test", method: "POST", status: "503", upstream: "x" },
    value: 1,
  });
  expect(samples.find((s) => s.name === "gateway_breaker_state")?.value).toBe(1);
  expect(
    samples.find(
      (s) => s.name === "http_request_duration_seconds_bucket" && s.labels["le"] === "+Inf",
    ),
  ).toBeUndefined(); // nothing observed yet: no bucket lines

  expect(parsePrometheus('x{le="+Inf"} +Inf\ny Nan 1700000000000\nz -Inf\n# HELP z h\n')).toEqual([
    { name: "x", labels: { le: "+Inf" }, value: Infinity },
    { name: "y", labels: {}, value: NaN },
    { name: "z", labels: {}, value: -Infinity },
  ]);
  expect(() => parsePrometheus("not a metric line")).toThrow(/line 1/);
  expect(() => parsePrometheus('x{a="1" b} 1')).toThrow(/bad labels/);
});

describe("a scraper over real replicas", () => {
  let clock = 0;
  let scraper: Scraper;
  let service: Replica;
  let gateway: Replica;
  let gone: Replica;
  let dual: Replica;
  let automation: Replica;
  let media: Replica;

  beforeAll(async () => {
    service = await replica("orders-1");
    // A gateway replica: one breaker open, one upstream replica ejected, three writes parked.
    gateway = await replica("business-gateway-1", (_app, metrics) => {
      const gm = gatewayMetrics(metrics.registry);
      gm.breakerState.set({ upstream: "orders" }, 1);
      gm.breakerState.set({ upstream: "chat" }, 0);
      gm.replicaHealthy.set({ upstream: "orders", replica: "a" }, 1);
      gm.replicaHealthy.set({ upstream: "orders", replica: "b" }, 0);
      dlqMetrics(metrics.registry, "business", async () => 3);
    });
    // The workflow engine and the MCP bridge in one replica: their figures on the overview.
    automation = await replica("workflows-1", (_app, metrics) => {
      const wm = workflowMetrics(metrics, {
        runs: async () => ({ running: 2, succeeded: 5, failed: 1 }),
        schedules: async () => 3,
      });
      wm.steps.inc({ outcome: "succeeded" }, 7);
      mcpMetrics(metrics).messages.inc({ method: "tools/list" }, 4);
    });
    // A render replica with one video in the making, and a video replica.
    media = await replica("render-1", (_app, metrics) => {
      const rm = renderMetrics(metrics, async () => ({
        scenes_waiting: 4,
        scenes_rendering: 1,
        joins_waiting: 0,
        renders: [{ id: "vid_a", status: "rendering", progress: 0.25 }],
      }));
      rm.jobs.inc({ kind: "scene", outcome: "succeeded" }, 6);
      videoMetrics(metrics, async () => ({ rendering: 1, succeeded: 2 }));
    });
    gone = await replica("orders-2");
    await gone.close();
    // Listening on every address, so that whatever `localhost` resolves to reaches it.
    dual = await replica("articles-x", undefined, "::");
    closers.push(service.close, gateway.close, dual.close, automation.close, media.close);
    scraper = createScraper({
      intervalMs: 1000,
      now: () => clock,
      targets: [
        {
          kind: "gateway",
          group: "business-gateway",
          domain: "business",
          replicas: [{ id: "gw-1", url: gateway.url }],
        },
        {
          kind: "service",
          group: "orders",
          domain: "business",
          version: "v1",
          replicas: [
            { id: "orders-1", url: service.url },
            { id: "orders-2", url: gone.url },
          ],
        },
        { kind: "service", group: "articles", dns: `http://localhost:${dual.port}` },
        { kind: "service", group: "workflows", replicas: [{ id: "wf-1", url: automation.url }] },
        { kind: "service", group: "render", replicas: [{ id: "render-1", url: media.url }] },
        { kind: "service", group: "nowhere", dns: "http://no-such-host.invalid:80" },
      ],
    });
  });

  test("health, readiness and metrics of every replica, a dead one and a failed lookup named", async () => {
    const o = await scraper.round();
    const orders = o.groups.find((g) => g.group === "orders")!;
    expect(orders.replicas[0]).toMatchObject({
      id: "orders-1",
      alive: true,
      ready: true,
      checks: { postgres: true },
    });
    expect(orders.replicas[0]!.uptimeSeconds).toBeGreaterThanOrEqual(0);
    expect(orders.replicas[0]!.residentMemoryBytes).toBeGreaterThan(0);
    expect(orders.replicas[0]!.requestRate).toBeUndefined(); // one round: no delta yet
    expect(orders.replicas[1]).toMatchObject({ id: "orders-2", alive: false, ready: false });
    expect(orders.replicas[1]!.error).toBe("ECONNREFUSED");

    const articles = o.groups.find((g) => g.group === "articles")!;
    expect(articles.replicas.length).toBeGreaterThanOrEqual(1);
    expect(articles.replicas.map((r) => r.id)).toContain(`127.0.0.1:${dual.port}`);
    expect(articles.replicas.every((r) => r.ready)).toBe(true);
    expect(o.groups.find((g) => g.group === "nowhere")!.error).toMatch(/cannot list replicas/);

    expect(o.breakers).toEqual(
      expect.arrayContaining([
        { gateway: "business-gateway", replica: "gw-1", upstream: "orders", state: "open" },
        { gateway: "business-gateway", replica: "gw-1", upstream: "chat", state: "closed" },
      ]),
    );
    expect(o.dlq).toEqual([{ gateway: "business-gateway", replica: "gw-1", depth: 3 }]);
    const gw = o.groups.find((g) => g.group === "business-gateway")!.replicas[0]!;
    expect(gw.upstreams).toEqual({ orders: { healthy: 1, total: 2 } });
    expect(o.automation).toEqual({
      workflows: {
        runs: { running: 2, succeeded: 5, failed: 1 },
        schedules: 3,
        steps: { succeeded: 7 },
      },
      mcpMessages: 4,
    });
    expect(o.media).toEqual({
      scenesWaiting: 4,
      renders: [{ id: "vid_a", progress: 0.25 }],
      jobs: { "scene:succeeded": 6 },
      videos: { rendering: 1, succeeded: 2 },
    });
    // The status page shows the render queue and each render's progress.
    const html = statusPage(o, 5);
    expect(html).toContain('<b id="scenes">4</b>video scenes waiting');
    expect(html).toMatch(/<td class="id">vid_a<\/td><td class="num">25%<\/td>/);
    expect(html).toContain("1 rendering, 2 succeeded · render jobs: scene:succeeded 6");
    expect(o.totals).toMatchObject({ groups: 6, ready: 1 + 1 + 1 + 1 + articles.replicas.length });
    // All of it as GET /v1/monitoring publishes it (the routes' tests below see a smaller round).
    expect(() => overviewSchema.parse(o)).not.toThrow();
  });

  test("request rates are counter deltas over the time between rounds, scrapes left out", async () => {
    await scraper.round();
    for (let i = 0; i < 6; i++) await fetch(`${service.url}/nope`);
    for (let i = 0; i < 4; i++) await fetch(`${service.url}/fail`);
    clock += 2_000;
    const o = await scraper.round();
    const r = o.groups.find((g) => g.group === "orders")!.replicas[0]!;
    expect(r.requests).toBe(10);
    expect(r.requestRate).toBe(5);
    expect(r.errorRate).toBe(2);
    // Ten answers in well under 250 ms each: the p95 bucket's bound, not a measured time.
    expect(r.latencyP95Ms).toBeLessThanOrEqual(250);
    // A round with no answers has no p95.
    clock += 2_000;
    const idle = (await scraper.round()).groups.find((g) => g.group === "orders")!.replicas[0]!;
    expect(idle.latencyP95Ms).toBeUndefined();
    // With no router in the targets, the edge is the gateways: gw-1 answered nothing.
    expect(o.totals.requestRate).toBe(0);
  });
});

describe("p95Between", () => {
  const buckets = (counts: Record<string, number>) =>
    new Map(Object.entries(counts).map(([le, n]) => [Number(le), n] as [number, number]));
  test("takes the bound of the bucket that holds the 95th percentile of the new answers", () => {
    const before = buckets({ 0.01: 100, 0.1: 100, 1: 100, Infinity: 100 });
    // 100 new answers: 90 under 10 ms, 6 more under 100 ms, 4 under 1 s.
    const now = buckets({ 0.01: 190, 0.1: 196, 1: 200, Infinity: 200 });
    expect(p95Between(before, now)).toBe(100);
    expect(p95Between(now, now)).toBeUndefined();
  });
  test("counts a restarted replica from zero, and past the last bound gives that bound", () => {
    const before = buckets({ 0.01: 500, 0.1: 500, 1: 500, Infinity: 500 });
    expect(p95Between(before, buckets({ 0.01: 10, 0.1: 10, 1: 10, Infinity: 10 }))).toBe(10);
    const slow = buckets({ 0.01: 0, 0.1: 0, 1: 0, Infinity: 20 });
    expect(p95Between(new Map(), slow)).toBe(1000);
  });
});

describe("who may see it", () => {
  const scraper = createScraper({
    intervalMs: 5000,
    targets: [
      { kind: "service", group: "x<script>", replicas: [{ id: "x-1", url: "http://127.0.0.1:9" }] },
    ],
  });
  let open: ServedApp;
  let guarded: ServedApp;
  const token = "admin-token-for-the-test-0123456789";

  beforeAll(async () => {
    await scraper.round();
    // Two apps of one service under their own names: each holds its answers to their schemas.
    open = await serveApp("monitoring-open", (app, logger) => {
      checkAnswers(app, monitoringApi, logger);
      monitoringRoutes(app, scraper, { refreshSeconds: 5 });
    });
    guarded = await serveApp("monitoring-guarded", (app, logger) => {
      checkAnswers(app, monitoringApi, logger);
      monitoringRoutes(app, scraper, { refreshSeconds: 5, adminToken: token });
    });
    closers.push(open.close, guarded.close);
  });

  test("on its own port, the JSON and the page; the page escapes what it shows", async () => {
    const json = await fetch(`${open.url}/v1/monitoring`);
    expect(json.status).toBe(200);
    expect(await json.json()).toMatchObject({ object: "monitoring.overview", rounds: 1 });
    const page = await fetch(`${open.url}/v1/monitoring/status`);
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
    expect(page.headers.get("content-security-policy")).toMatch(/default-src 'none'/);
    const html = await page.text();
    expect(html).toContain('<meta http-equiv="refresh" content="5">');
    expect(html).toContain('data-replica="x&lt;script&gt;/x-1"');
    expect(html).not.toContain("<script>");
    expect(html).not.toMatch(/(src|href)="http/);
  });

  test("through a gateway (principal headers): refused without ADMIN_TOKEN, else it must be sent", async () => {
    const noToken = await fetch(`${open.url}/v1/monitoring/status`, { headers: principal() });
    expect(noToken.status).toBe(403);
    expect(((await noToken.json()) as ErrorJson).error.code).toBe("monitoring_not_public");
    const wrong = await fetch(`${guarded.url}/v1/monitoring`, {
      headers: { ...principal(), "x-admin-token": "nope" },
    });
    expect(wrong.status).toBe(403);
    expect(((await wrong.json()) as ErrorJson).error).toMatchObject({
      code: "admin_token_required",
    });
    const right = await fetch(`${guarded.url}/v1/monitoring`, {
      headers: { ...principal(), "x-admin-token": token },
    });
    expect(right.status).toBe(200);
  });
});
