// CPU time per request of the steps that issue #3 asks of every gateway request, each alone and
// from the platform's own modules, so that the gateway-hop target can be set against them:
//
//   node bench/chainSteps.ts
//
// A gateway within 3x nginx's hop may spend 3 x nginx - bare Node hop on all of its own work,
// about 30 us per request in the throughput bench (bench/README.md, "Node's floor"). This prints what the steps cost, each on its own, and their sum: a floor for the chain,
// since the steps here do not wait on sockets, miss caches or run under a real request's memory.
//
// Every step runs STEPS_CALLS (50 000) times in turns of 100 calls per event-loop turn (so that
// the asynchronous log writes happen as they do in a server), and its CPU time is the process's
// (every thread: log writes run on libuv's pool). The rate limiter is measured in memory and
// against a real Redis (started here, as the test suite starts it). The steps run in turn, three
// rounds, and the medians are printed; the machine is shared, so compare within one run.
import { spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { Registry } from "prom-client";
import { catalog, matchRoute, routingRules } from "../platform/catalog/index.ts";
import { keyHash } from "../services/gateway/auth.ts";
import { RateLimiter, catalogLimits } from "../services/gateway/rateLimit.ts";
import { generateKey } from "../services/auth/keys.ts";
import { recordRequest } from "../services/shared/http.ts";
import { createLogger, flushLogs } from "../services/shared/logger.ts";
import { createMetrics } from "../services/shared/metrics.ts";
import { forwardHeaders } from "../services/shared/proxy.ts";
import { requestContext } from "../services/shared/trace.ts";
import { startRedis } from "../test/servers/index.ts";
import { envNumber } from "./support/drill.ts";
import { median, printFigures } from "./support/report.ts";

const CHILD = "CHAIN_STEPS_CHILD";

if (process.env[CHILD] !== "1") {
  // The access log goes to stdout, which must be a file as it is under the supervisor: a terminal
  // or a pipe would measure the reader. So a child measures, its stdout a temp file, and sends
  // its figures back here.
  const dir = mkdtempSync(join(tmpdir(), "chain-steps-"));
  const log = openSync(join(dir, "stdout.log"), "a");
  const child = spawn(process.execPath, [import.meta.filename], {
    env: { ...process.env, [CHILD]: "1" },
    stdio: ["ignore", log, "inherit", "ipc"],
  });
  closeSync(log);
  let figures: [string, number][] | undefined;
  child.on("message", (m) => (figures = m as [string, number][]));
  const code = await new Promise<number>((ok) => child.once("exit", (c) => ok(c ?? 1)));
  rmSync(dir, { recursive: true, force: true });
  if (code !== 0 || !figures) {
    console.log("chain steps: the measuring process failed (see above)");
    process.exit(1);
  }
  report(new Map(figures));
  process.exit(0);
}

/** Each step's median, then the sums the chain cannot go below. */
function report(us: Map<string, number>): void {
  console.log(`chain steps: CPU us per call, medians over the rounds`);
  printFigures([...us].map(([name, v]) => [name, `${v.toFixed(1).padStart(6)} us`]));
  // Every request needs its ids, route, key hash, next-hop headers, metrics and log line, and one
  // rate limiter: a production tier's is Redis's, every replica sharing one count.
  const floor = [
    "request id and trace context",
    "route match (catalog rules)",
    "API key hash (SHA-256)",
    "headers for the next hop",
    "metrics + access log line",
  ].reduce((sum, name) => sum + us.get(name)!, 0);
  printFigures([
    ["sum, rate limit in memory", `${(floor + us.get("rate limit, in memory")!).toFixed(1)} us`],
    [
      "sum, rate limit in Redis",
      `${(floor + us.get("rate limit, Redis (GCRA script)")!).toFixed(1)} us`,
    ],
  ]);
}

const calls = envNumber("STEPS_CALLS", 50_000);
const rounds = envNumber("STEPS_ROUNDS", 3);
const TURN = 100;

const redisServer = await startRedis();
const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
try {
  const logger = createLogger("chain-steps");
  const metrics = createMetrics("chain-steps");
  const silent = createLogger("chain-steps");
  silent.level = "silent";
  const apiKey = generateKey();
  const headers = {
    host: "127.0.0.1:8080",
    authorization: `Bearer ${apiKey}`,
    "user-agent": "autocannon",
    accept: "application/json",
    "x-request-id": "req_0123456789abcdef",
    traceparent: "00-0123456789abcdef0123456789abcdef-0123456789abcdef-01",
    "x-forwarded-for": "10.0.0.7",
  };
  const req = {
    method: "GET",
    url: "/v1/orders?limit=20",
    headers,
    socket: { remoteAddress: "127.0.0.1" },
  } as unknown as IncomingMessage;
  const ctx = requestContext(headers);
  const rules = routingRules(catalog).filter((r) => r.domain === "business");
  const limitsFor = catalogLimits(catalog, "business");
  const limits = limitsFor(matchRoute(rules, "/v1/orders")!.prefix)!;
  // Limits far above what the run sends: every check is an allowed one, as under normal load.
  const generous = { ...limits, perKey: { limit: 1e9, windowSeconds: 1 } };
  const unlimited = { ...generous, perIp: generous.perKey };
  const limiter = (withRedis: boolean) =>
    new RateLimiter({
      redis: withRedis ? redis : undefined,
      prefix: `steps-${withRedis ? "redis" : "local"}`,
      limitsFor,
      registry: new Registry(), // one per limiter: both register the same metric names
      logger: silent,
    });
  const local = limiter(false);
  const shared = limiter(true);
  const record = (log: typeof logger) => () =>
    recordRequest(metrics, log, process.hrtime.bigint(), {
      ctx,
      method: "GET",
      path: "/v1/orders",
      route: "/v1/orders",
      status: 200,
      upstream: "orders-v1",
      decision: "cache:miss",
    });

  const steps: { name: string; run: () => unknown }[] = [
    { name: "request id and trace context", run: () => requestContext(headers) },
    { name: "route match (catalog rules)", run: () => matchRoute(rules, "/v1/orders") },
    { name: "API key hash (SHA-256)", run: () => keyHash(apiKey) },
    { name: "headers for the next hop", run: () => forwardHeaders(req, ctx, ["authorization"]) },
    { name: "metrics (counter + histogram)", run: record(silent) },
    { name: "metrics + access log line", run: record(logger) },
    { name: "rate limit, in memory", run: () => local.check(unlimited, apiKey, "127.0.0.1") },
    {
      name: "rate limit, Redis (GCRA script)",
      run: () => shared.check(unlimited, apiKey, "127.0.0.1"),
    },
  ];

  const measure = async (run: () => unknown): Promise<number> => {
    const before = process.cpuUsage();
    for (let done = 0; done < calls; done += TURN) {
      for (let i = 0; i < TURN; i++) await run();
      await new Promise((ok) => setImmediate(ok));
    }
    const used = process.cpuUsage(before);
    return (used.user + used.system) / calls;
  };

  for (const step of steps) await measure(step.run); // warm-up: JIT, Redis script load
  const results = new Map<string, number[]>(steps.map((s) => [s.name, []]));
  for (let r = 0; r < rounds; r++)
    for (const step of steps) results.get(step.name)!.push(await measure(step.run));
  process.send!([...results].map(([name, xs]) => [name, median(xs)]));
  flushLogs();
} finally {
  redis.disconnect();
  await redisServer.stop();
}
process.exit(0);
