import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { defaultCatalog } from "../../infra/catalog/default.ts";
import { services, validateCatalog } from "../../infra/catalog/index.ts";
import { versionedName } from "../../infra/runtimeEnv.ts";
import { listenOnLoopback, TEST_PRINCIPAL_SECRET } from "../../test/support/serviceApp.ts";
import { memoryCache } from "../shared/cache.ts";
import { createLogger } from "../shared/logger.ts";
import { createMetrics } from "../shared/metrics.ts";
import { createGateway } from "./app.ts";

// The bytes of request bodies one gateway replica holds at once are bounded (finding 6 of issue
// #13): past the bound a caller is told to come back (503, Retry-After, the API's JSON), and
// what an answered request held is given back. The bound is set small here, as
// GATEWAY_BUFFERED_BODY_BYTES lets a deployment set it.

process.env["LOG_LEVEL"] ??= "silent";

const KEY = "sk-test_budget_key_0123456789abcdef";
const BUDGET = 64 * 1024;
const closers: Array<() => Promise<void> | void> = [];
let gatewayUrl: string;
/** Uploads the storage stand-in has received and not answered yet. */
const held: ServerResponse[] = [];
let arrived: (() => void) | undefined;
/** Resolves when the storage stand-in has the next upload whole. */
const nextArrival = () => new Promise<void>((ok) => (arrived = ok));

beforeAll(async () => {
  const catalog = validateCatalog(structuredClone(defaultCatalog));
  const listen = (handler: (req: IncomingMessage, res: ServerResponse) => void) =>
    listenOnLoopback(createServer(handler), closers);
  const auth = await listen((req, res) => {
    req.resume();
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ principal: { userId: "user-1", keyId: "key_1", plan: "free" } }));
  });
  // Storage answers an upload only when the test says so: until then the gateway holds its body.
  const storage = await listen((req, res) => {
    if (req.url === "/healthz") return void res.end("{}");
    req.resume();
    req.once("end", () => {
      held.push(res);
      arrived?.();
    });
  });
  const business = services(catalog).filter((s) => s.domain === "business");
  const gateway = createGateway({
    catalog,
    domain: "business",
    upstreams: Object.fromEntries(
      business.flatMap((s) =>
        s.versions.map((v) => [
          versionedName(s.name, v.name),
          [s.name === "storage" ? storage : auth],
        ]),
      ),
    ),
    authUrls: [auth],
    quotaUrls: [auth],
    principalSecret: TEST_PRINCIPAL_SECRET,
    store: memoryCache(),
    logger: createLogger("business-gateway"),
    metrics: createMetrics("business-gateway"),
    proxyHops: 1,
    draining: () => false,
    bufferedBodyBytes: BUDGET,
  });
  closers.push(gateway.close);
  gatewayUrl = await listenOnLoopback(createServer(gateway.app), closers);
});

afterAll(async () => {
  for (const res of held) res.end();
  for (const close of closers.reverse()) await close();
});

const upload = (bytes: number) =>
  fetch(`${gatewayUrl}/v1/files`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${KEY}`,
      "content-type": "multipart/form-data; boundary=x",
    },
    body: Buffer.alloc(bytes, 0x61),
  });

test("past the budget of held bodies: a JSON 503 with Retry-After; answered, the bytes come back", async () => {
  const reached = nextArrival();
  const first = upload(48 * 1024);
  await reached;

  // The first upload's 48 KiB are held until it is answered: 48 more would pass the 64 KiB.
  const refused = await upload(48 * 1024);
  expect(refused.status).toBe(503);
  expect(refused.headers.get("retry-after")).toBe("1");
  expect(((await refused.json()) as { error: unknown }).error).toMatchObject({
    code: "server_busy",
    type: "service_unavailable",
  });
  // What fits beside it still goes through.
  const smallArrived = nextArrival();
  const small = upload(8 * 1024);
  await smallArrived;
  held.pop()!.end("{}");
  expect((await small).status).toBe(200);

  held.shift()!.end("{}");
  expect((await first).status).toBe(200);
  const againArrived = nextArrival();
  const again = upload(48 * 1024);
  await againArrived;
  held.shift()!.end("{}");
  expect((await again).status).toBe(200);
});
