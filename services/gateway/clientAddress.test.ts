import { once } from "node:events";
import { createServer, request, type Server } from "node:http";
import { Registry } from "prom-client";
import { defaultCatalog } from "../../platform/catalog/default.ts";
import { domains, services, validateCatalog } from "../../platform/catalog/index.ts";
import { PROXY_HOPS, versionedName } from "../../platform/runtimeEnv.ts";
import { requireEnv } from "../../test/support/kafka.ts";
import { listenOnLoopback, TEST_PRINCIPAL_SECRET } from "../../test/support/serviceApp.ts";
import { createRouter } from "../router/app.ts";
import { redisCache, redisClient } from "../shared/redisCache.ts";
import { createLogger } from "../shared/logger.ts";
import { createMetrics } from "../shared/metrics.ts";
import { createGateway } from "./app.ts";
import { catalogLimits, rateLimit } from "./rateLimit.ts";

// Kubernetes puts the ingress controller in front of the router: it sets X-Forwarded-For to the
// address it saw (ingress-nginx's default), then the router appends the controller's own. The
// gateway, configured as the k8s stack configures it, must find each client's address behind
// both hops, so that two clients get two per-address buckets (with one hop trusted, every client
// of the cluster shared the ingress pod's). Per-address limits hold on the real rate limiter,
// router and gateway, on the test run's Redis.

process.env["LOG_LEVEL"] ??= "silent";

const DEAD = "http://127.0.0.1:1";
const PER_IP = 3;
const closers: Array<() => Promise<void> | void> = [];
let ingress: string;

const listen = (server: Server) => listenOnLoopback(server, closers);

beforeAll(async () => {
  const input = structuredClone(defaultCatalog);
  const orders = input.services["orders"]!;
  orders.traffic = {
    ...orders.traffic,
    rateLimit: {
      perKey: { limit: 1_000, windowSeconds: 60 },
      perIp: { limit: PER_IP, windowSeconds: 60 },
    },
  };
  const catalog = validateCatalog(input);
  const redisUrl = requireEnv("TEST_REDIS_URL");
  const prefix = `hops-${Date.now()}`;
  const redis = redisClient(redisUrl);
  closers.push(() => redis.disconnect());
  if (redis.status !== "ready") await once(redis, "ready");
  const logger = createLogger("business-gateway");
  const metrics = createMetrics("business-gateway");
  const gateway = createGateway({
    catalog,
    domain: "business",
    // Nothing gets past the key check here: the services are never called.
    upstreams: Object.fromEntries(
      services(catalog)
        .filter((s) => s.domain === "business")
        .flatMap((s) => s.versions.map((v) => [versionedName(s.name, v.name), [DEAD]])),
    ),
    authUrls: [DEAD],
    quotaUrls: [DEAD],
    principalSecret: TEST_PRINCIPAL_SECRET,
    store: redisCache(redisUrl, prefix),
    logger,
    metrics,
    proxyHops: PROXY_HOPS.kubernetes,
    draining: () => false,
    rateLimit: rateLimit({
      redis,
      prefix,
      limitsFor: catalogLimits(catalog, "business"),
      registry: new Registry(),
      logger,
    }),
  });
  closers.push(gateway.close);
  const tier = await listen(createServer(gateway.handler));
  const router = createRouter({
    catalog,
    tiers: Object.fromEntries(domains(catalog).map((d) => [d.name, [tier]])),
    logger: createLogger("router"),
    metrics: createMetrics("router"),
    draining: () => false,
  });
  closers.push(router.close);
  const routerUrl = await listen(createServer(router.handler));

  // The ingress controller as ingress-nginx behaves by default: X-Forwarded-For is the address
  // it saw, whatever the client sent.
  ingress = await listen(
    createServer((req, res) => {
      const headers = { ...req.headers, "x-forwarded-for": req.socket.remoteAddress ?? "" };
      const out = request(`${routerUrl}${req.url}`, { method: req.method, headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      req.pipe(out);
    }),
  );
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

/** One request from a client at `address` (a loopback address of its own). */
function get(address: string, spoofed?: string): Promise<number> {
  return new Promise((ok, fail) => {
    const req = request(
      `${ingress}/v1/orders`,
      {
        localAddress: address,
        agent: false,
        headers: spoofed ? { "x-forwarded-for": spoofed } : {},
      },
      (res) => {
        res.resume();
        res.once("end", () => ok(res.statusCode ?? 0));
      },
    );
    req.once("error", fail);
    req.end();
  });
}

test("two clients behind the ingress get separate per-address buckets", async () => {
  const first: number[] = [];
  for (let i = 0; i < PER_IP + 2; i++) first.push(await get("127.0.0.2"));
  // Allowed by the limit, then refused at the key check; past the limit, 429.
  expect(first).toEqual([...Array(PER_IP).fill(401), 429, 429]);
  // Another client, even one that claims the first one's address, has a bucket of its own.
  expect(await get("127.0.0.3", "127.0.0.2")).toBe(401);
  expect(await get("127.0.0.3")).toBe(401);
});
