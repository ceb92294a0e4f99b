import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { ok, startReplica, status, type TestReplica } from "../../test/support/httpReplica.ts";
import { ReplicaSet, sendToReplicas } from "./upstream.ts";

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

describe("a replica URL whose host is a name", () => {
  // Replicas on 127.0.0.2, .3 and .4 with one port, as tasks behind a Cloud Map name or pods
  // behind a headless Service; the resolver stands in for their DNS records.
  const port = () => new URL(replicas[0]!.url).port;
  async function named(hosts: string[]) {
    replicas = [await startReplica(ok("2"), { host: hosts[0] })];
    for (const host of hosts.slice(1))
      replicas.push(await startReplica(ok(host.slice(-1)), { host, port: Number(port()) }));
  }
  const answer = async (set: ReplicaSet) => {
    const res = await sendToReplicas(set, {
      method: "GET",
      path: "/",
      headers: {},
      retryable: true,
    });
    return res.body.text();
  };

  test("stands for every address it resolves to, each balanced on its own", async () => {
    await named(["127.0.0.2", "127.0.0.3"]);
    const asked: string[] = [];
    const set = new ReplicaSet("svc", [`http://orders.svc.test:${port()}`], {
      resolve: async (host) => {
        asked.push(host);
        return ["127.0.0.2", "127.0.0.3"];
      },
    });
    sets.push(set);
    await set.discover();
    expect(asked).toContain("orders.svc.test");
    expect(set.replicas.map((r) => r.url)).toEqual([
      `http://127.0.0.2:${port()}`,
      `http://127.0.0.3:${port()}`,
    ]);
    const answers = [await answer(set), await answer(set), await answer(set), await answer(set)];
    expect(answers.sort()).toEqual(["2", "2", "3", "3"]);
  });

  test("a dead address is failed over and ejected; the name's other addresses stay", async () => {
    await named(["127.0.0.2", "127.0.0.3"]);
    const set = new ReplicaSet("svc", [`http://orders.svc.test:${port()}`], {
      resolve: async () => ["127.0.0.2", "127.0.0.3"],
    });
    sets.push(set);
    await set.discover();
    await replicas[1]!.stop();
    for (let i = 0; i < 4; i++) expect(await answer(set)).toBe("2");
    expect(set.healthyCount()).toBe(1);
  });

  test("the set follows the records: a gone address leaves, a new one waits for its check", async () => {
    await named(["127.0.0.2", "127.0.0.3", "127.0.0.4"]);
    let records = ["127.0.0.2", "127.0.0.3"];
    const events: string[] = [];
    const set = new ReplicaSet("svc", [`http://orders.svc.test:${port()}`], {
      resolve: async () => records,
      healthIntervalMs: 60_000,
      onChange: (r, event) => {
        if (event === "discovered" || event === "removed") events.push(`${event} ${r.url}`);
      },
    });
    sets.push(set);
    await set.discover();
    const [two] = set.replicas;
    two!.consecutiveFailures = 2;

    records = ["127.0.0.2", "127.0.0.4"];
    await set.discover();
    expect(set.replicas.map((r) => r.url)).toEqual([
      `http://127.0.0.2:${port()}`,
      `http://127.0.0.4:${port()}`,
    ]);
    expect(events.slice(-2)).toEqual([
      `removed http://127.0.0.3:${port()}`,
      `discovered http://127.0.0.4:${port()}`,
    ]);
    // The address that stayed is the same replica, its record of failures kept.
    expect(set.replicas[0]).toBe(two);
    expect(set.replicas[0]!.consecutiveFailures).toBe(2);
    await set.checkHealth();
    expect(set.replicas.map((r) => r.healthy)).toEqual([true, true]);
    expect(replicas[2]!.hits).toBe(0);
    for (let i = 0; i < 4; i++) await answer(set);
    expect(replicas[2]!.hits).toBe(2);
  });

  test("a name that cannot be resolved keeps the replicas it had", async () => {
    await named(["127.0.0.2", "127.0.0.3"]);
    let records: () => Promise<string[]> = async () => ["127.0.0.2", "127.0.0.3"];
    const set = new ReplicaSet("svc", [`http://orders.svc.test:${port()}`], {
      resolve: () => records(),
    });
    sets.push(set);
    await set.discover();
    const before = [...set.replicas];
    records = async () => {
      throw Object.assign(new Error("getaddrinfo EAI_AGAIN"), { code: "EAI_AGAIN" });
    };
    await set.discover();
    records = async () => [];
    await set.discover();
    expect(set.replicas).toEqual(before);
    expect(await answer(set)).toMatch(/^[23]$/);
  });

  test("literal addresses and localhost are never looked up", async () => {
    replicas = [await startReplica()];
    const resolve = jest.fn(async () => ["127.0.0.9"]);
    const localhost = replicas[0]!.url.replace("127.0.0.1", "localhost");
    const set = new ReplicaSet("svc", [replicas[0]!.url, localhost], { resolve });
    sets.push(set);
    await set.discover();
    expect(resolve).not.toHaveBeenCalled();
    expect(set.replicas.map((r) => r.url)).toEqual([replicas[0]!.url, localhost]);
  });
});
