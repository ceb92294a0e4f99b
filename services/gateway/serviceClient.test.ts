import { Registry } from "prom-client";
import {
  hang,
  ok,
  startReplica,
  status,
  type TestReplica,
} from "../../test/support/httpReplica.ts";
import { ReplicaSet } from "../shared/upstream.ts";
import { BrokenCircuitError } from "./breaker.ts";
import { gatewayMetrics } from "./metrics.ts";
import {
  AttemptFailed,
  mayHaveReached,
  ServiceClient,
  type CallRequest,
  type Resilience,
} from "./serviceClient.ts";

const resilience: Resilience = {
  breakerFailures: 3,
  breakerHalfOpenMs: 200,
  maxAttempts: 3,
  backoffBaseMs: 1,
  backoffMaxMs: 5,
  retryBudgetPercent: 100,
};

let replicas: TestReplica[] = [];
let clients: ServiceClient[] = [];
afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(replicas.map((r) => r.stop()));
  replicas = [];
  clients = [];
});

async function setup(n: number, cfg: Partial<Resilience> = {}) {
  replicas = await Promise.all(Array.from({ length: n }, () => startReplica()));
  const registry = new Registry();
  const metrics = gatewayMetrics(registry);
  const client = new ServiceClient(
    "svc",
    new ReplicaSet(
      "svc",
      replicas.map((r) => r.url),
    ),
    { ...resilience, ...cfg },
    metrics,
  );
  clients.push(client);
  return { client, registry };
}

const get = (extra: Partial<CallRequest> = {}): CallRequest => ({
  method: "GET",
  path: "/thing",
  headers: {},
  retryable: true,
  firstByteMs: 2_000,
  idleMs: 2_000,
  ...extra,
});

async function text(client: ServiceClient, req: CallRequest) {
  const { response, attempts } = await client.call(req);
  return { status: response.statusCode, body: await response.body.text(), attempts };
}

async function metric(registry: Registry, name: string): Promise<string> {
  return (await registry.metrics())
    .split("\n")
    .filter((l) => l.startsWith(name))
    .join("\n");
}

test("a stopped replica costs no failed call: the request fails over and the replica is ejected", async () => {
  const { client } = await setup(2);
  await replicas[0]!.stop();
  const results = await Promise.all(Array.from({ length: 20 }, () => text(client, get())));
  expect(results.every((r) => r.status === 200)).toBe(true);
  expect(client.set.replicas[0]!.ejectedUntil).toBeGreaterThan(Date.now());
});

test("a 503 is retried on another replica, and the gateway says so", async () => {
  const { client, registry } = await setup(2, { breakerFailures: 100 });
  replicas[0]!.behave(status(503));
  const results = await Promise.all(Array.from({ length: 10 }, () => text(client, get())));
  expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
  expect(results.some((r) => r.attempts > 1)).toBe(true);
  expect(await metric(registry, "gateway_retries_total")).toMatch(/outcome="attempted"} [1-9]/);
});

test("a write without an Idempotency-Key is not sent twice", async () => {
  const { client } = await setup(2, { breakerFailures: 100 });
  replicas.forEach((r) => r.behave(status(503)));
  await expect(client.call(get({ method: "POST", retryable: false }))).rejects.toBeInstanceOf(
    AttemptFailed,
  );
  expect(replicas[0]!.hits + replicas[1]!.hits).toBe(1);
});

test("a failed call says whether it may have reached a replica: only a call nothing took is 'not processed'", async () => {
  const { client } = await setup(2, { maxAttempts: 2, breakerFailures: 100 });
  const post = get({ method: "POST", retryable: false });
  // Answered 503 by the service: it had the request, and may have acted on it.
  replicas.forEach((r) => r.behave(status(503)));
  const answered = await client.call(post).catch((e: unknown) => e);
  expect(answered).toBeInstanceOf(AttemptFailed);
  expect(mayHaveReached(answered)).toBe(true);
  // Every replica refuses the connection: nothing left the gateway, though a write was retried.
  await Promise.all(replicas.map((r) => r.stop()));
  const refused = await client.call(post).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(Error);
  expect(mayHaveReached(refused)).toBe(false);
});

test("the breaker opens after consecutive failures and then fails fast without calling", async () => {
  const { client, registry } = await setup(2, { maxAttempts: 1 });
  replicas.forEach((r) => r.behave(status(503)));
  for (let i = 0; i < 3; i++)
    await expect(client.call(get())).rejects.toBeInstanceOf(AttemptFailed);
  const before = replicas[0]!.hits + replicas[1]!.hits;
  await expect(client.call(get())).rejects.toBeInstanceOf(BrokenCircuitError);
  expect(replicas[0]!.hits + replicas[1]!.hits).toBe(before);
  expect(client.breakerOpen).toBe(true);
  expect(await metric(registry, "gateway_breaker_state")).toContain(
    'gateway_breaker_state{upstream="svc"} 1',
  );
});

test("a half-open breaker closes again once a probe succeeds", async () => {
  const { client } = await setup(1, { maxAttempts: 1 });
  replicas[0]!.behave(status(503));
  for (let i = 0; i < 3; i++)
    await expect(client.call(get())).rejects.toBeInstanceOf(AttemptFailed);
  expect(client.breakerOpen).toBe(true);
  replicas[0]!.behave(ok("back"));
  await new Promise((r) => setTimeout(r, 250));
  expect((await text(client, get())).body).toBe("back");
  expect(client.breakerOpen).toBe(false);
});

test("the retry budget caps retries when every call fails", async () => {
  const { client, registry } = await setup(2, { retryBudgetPercent: 0, breakerFailures: 1000 });
  replicas.forEach((r) => r.behave(status(503)));
  for (let i = 0; i < 30; i++)
    await expect(client.call(get())).rejects.toBeInstanceOf(AttemptFailed);
  // 30 calls with 2 retries each would be 60 retries; the floor of the budget is 10.
  expect(replicas[0]!.hits + replicas[1]!.hits).toBe(30 + 10);
  expect(await metric(registry, "gateway_retries_total")).toMatch(
    /outcome="denied_by_budget"} [1-9]/,
  );
});

test("a replica that does not answer in time counts as failed, and the call goes elsewhere", async () => {
  const { client } = await setup(2, { breakerFailures: 100 });
  replicas[0]!.behave(hang());
  const results = await Promise.all(
    Array.from({ length: 4 }, () => text(client, get({ firstByteMs: 100 }))),
  );
  expect(results.every((r) => r.status === 200)).toBe(true);
});

test("a caller who gives up does not count against the service", async () => {
  const { client } = await setup(1, { maxAttempts: 1, breakerFailures: 1 });
  replicas[0]!.behave(hang());
  const controller = new AbortController();
  const pending = client.call(get({ signal: controller.signal }));
  setTimeout(() => controller.abort(), 50);
  await expect(pending).rejects.not.toBeInstanceOf(AttemptFailed);
  expect(client.breakerOpen).toBe(false);
});
