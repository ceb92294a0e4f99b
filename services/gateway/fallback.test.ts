import { defaultCatalog } from "../../platform/catalog/default.ts";
import { validateCatalog } from "../../platform/catalog/index.ts";
import { businessGateway, standIn } from "../../test/support/businessGateway.ts";
import { PROCESSED_HEADER } from "../shared/errors.ts";

// The degraded domain's 503 tells a client what it may do next, and only what is true: a write
// that never left the gateway (every connection refused) is marked `x-request-processed: false`
// and said not processed, so that a client may send it again; a write a service received and
// failed is said to be maybe done, unmarked, since sending it again might do it twice.

process.env["LOG_LEVEL"] ??= "silent";

const KEY = "sk-test_fallback_key_0123456789abcdef";
const DEAD = "http://127.0.0.1:1";
const closers: Array<() => Promise<void> | void> = [];
let gatewayUrl: string;

beforeAll(async () => {
  // Ready for the health checks, and failing every request it is sent.
  const failing = await standIn((req, res) => {
    req.resume();
    res.statusCode = req.method === "GET" && req.url === "/readyz" ? 200 : 503;
    res.end("{}");
  }, closers);
  gatewayUrl = await businessGateway({
    catalog: validateCatalog(structuredClone(defaultCatalog)),
    upstreamOf: (service) => (service === "articles" ? failing : DEAD),
    closers,
  });
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

async function write(path: string, body: unknown) {
  const res = await fetch(`${gatewayUrl}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const error = ((await res.json()) as { error: { code: string; message: string } }).error;
  return { status: res.status, processed: res.headers.get(PROCESSED_HEADER), error };
}

test("a write no replica took: 503, marked not processed, said so", async () => {
  const refused = await write("/v1/orders", { item: "pen", quantity: 1 });
  expect(refused).toMatchObject({ status: 503, processed: "false" });
  expect(refused.error.code).toBe("service_degraded");
  expect(refused.error.message).toContain("the request was not processed");
});

test("a write a service received and failed: 503, unmarked, said to be maybe done", async () => {
  const failed = await write("/v1/articles", { title: "Canaries", body: "A small share first." });
  expect(failed).toMatchObject({ status: 503, processed: null });
  expect(failed.error.message).toContain("may or may not have been done");
  expect(failed.error.message).not.toContain("not processed");
});
