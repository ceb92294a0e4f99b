import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { startReplica, status, type TestReplica } from "../../test/support/httpReplica.ts";
import { ReplicaSet } from "./upstream.ts";

let replicas: TestReplica[] = [];
let sets: ReplicaSet[] = [];
afterEach(async () => {
  await Promise.all(sets.map((s) => s.close()));
  await Promise.all(replicas.map((r) => r.stop()));
  replicas = [];
  sets = [];
});

async function make(n: number, opts: ConstructorParameters<typeof ReplicaSet>[2] = {}) {
  replicas = await Promise.all(Array.from({ length: n }, () => startReplica()));
  const set = new ReplicaSet(
    "svc",
    replicas.map((r) => r.url),
    opts,
  );
  sets.push(set);
  return set;
}

test("round robin over the replicas", async () => {
  const set = await make(3);
  const picks = Array.from({ length: 6 }, () => set.pick()!.url);
  expect(picks).toEqual([...replicas.map((r) => r.url), ...replicas.map((r) => r.url)]);
});

test("a pick skips the replicas this request already tried", async () => {
  const set = await make(2);
  const first = set.pick()!;
  expect(set.pick(new Set([first]))).not.toBe(first);
  expect(set.pick(new Set(set.replicas))).toBeUndefined();
});

test("outlier ejection needs consecutive failures, and never ejects more than the cap", async () => {
  let now = 1_000;
  const set = await make(2, { ejectAfterFailures: 3, maxEjectedPercent: 50, now: () => now });
  const [a, b] = set.replicas;
  set.failed(a!);
  set.failed(a!);
  expect(set.healthyCount()).toBe(2);
  set.failed(a!);
  expect(set.healthyCount()).toBe(1);
  for (let i = 0; i < 5; i++) set.failed(b!);
  expect(set.healthyCount()).toBe(1); // the cap keeps b in rotation
  now += 60_000;
  expect(set.healthyCount()).toBe(2);
});

test("each repeat ejection lasts longer", async () => {
  let now = 0;
  const set = await make(1, {
    baseEjectMs: 1_000,
    ejectAfterFailures: 1,
    maxEjectedPercent: 100,
    now: () => now,
  });
  const r = set.replicas[0]!;
  set.failed(r, "down");
  expect(r.ejectedUntil).toBe(1_000);
  now = 1_000;
  set.failed(r, "down");
  expect(r.ejectedUntil).toBe(3_000);
});

test("with every replica out, a pick still returns one rather than failing outright", async () => {
  const set = await make(2, { ejectAfterFailures: 1, maxEjectedPercent: 100 });
  set.replicas.forEach((r) => set.failed(r, "down"));
  expect(set.pick()).toBeDefined();
});

test("active health checks take a replica that answers 503 on /readyz out, after two in a row", async () => {
  replicas = [await startReplica(), await startReplica()];
  const draining = createServer((_req, res) => res.writeHead(503).end("draining"));
  await new Promise<void>((r) => draining.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(draining.address() as AddressInfo).port}`;
  const set = new ReplicaSet("svc", [replicas[0]!.url, url]);
  sets.push(set);
  await set.checkHealth();
  expect(set.healthyCount()).toBe(2);
  await set.checkHealth();
  expect(set.healthyCount()).toBe(1);
  expect(Array.from({ length: 4 }, () => set.pick()!.url)).toEqual(Array(4).fill(replicas[0]!.url));
  await new Promise<void>((r) => draining.close(() => r()));
});

test("a replica ejected for refusing connections is back as soon as its health check passes", async () => {
  const set = await make(1, { baseEjectMs: 60_000, ejectAfterFailures: 1, maxEjectedPercent: 100 });
  set.failed(set.replicas[0]!, "down");
  expect(set.healthyCount()).toBe(0);
  await set.checkHealth();
  expect(set.healthyCount()).toBe(1);
  replicas[0]!.behave(status(200));
});
