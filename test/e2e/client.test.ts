import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PlatformClient } from "../../clients/platform-client/src/client.ts";
import { PlatformError, WorkerCrashedError } from "../../clients/platform-client/src/errors.ts";
import type { WorkerPool } from "../../clients/platform-client/src/pool.ts";
import { VERDICT_FRESH_SECONDS } from "../../services/gateway/auth.ts";
import { createDatabase } from "../servers/index.ts";
import { ROOT, startTopology, type RunningTopology } from "../support/localTopology.ts";
import { withOrders } from "../support/catalogVariants.ts";
import { adminKey, createUserKey } from "../support/users.ts";

// The client library and its CLI against `npm start` (on PostgreSQL): many users' sessions at
// once through worker threads, streamed chats, orders, a 4 MiB upload and its download checked
// by SHA-256, a key rotated, and a thread killed mid-run costing only its own tasks.

jest.setTimeout(300_000);

let topo: RunningTopology;
let admin: string;
let work: string;

/** Orders' per-key limit in this run: low enough for one session to meet it within a test. */
const ORDERS_PER_KEY = { limit: 20, windowSeconds: 60 };

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "client-e2e-"));
  const databaseUrl = await createDatabase("client_e2e");
  const catalogFile = join(work, "catalog.json");
  writeFileSync(
    catalogFile,
    JSON.stringify(withOrders({ traffic: { rateLimit: { perKey: ORDERS_PER_KEY } } })),
  );
  topo = await startTopology({ REPLICAS: "1", DATABASE_URL: databaseUrl }, [
    "--catalog",
    catalogFile,
  ]);
  admin = await adminKey(ROOT, databaseUrl);
});

afterAll(async () => {
  await topo?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** A fine-tune corpus of about `bytes`, as text the storage service accepts. */
function corpus(bytes: number): string {
  const line =
    '{"prompt":"what does the gateway do?","completion":"it routes, limits and retries"}\n';
  return line.repeat(Math.ceil(bytes / line.length));
}

test("sessions of many users run side by side through the worker threads", async () => {
  const users = await Promise.all(
    Array.from({ length: 12 }, (_, i) => createUserKey(topo.url, admin, i)),
  );
  const client = new PlatformClient({ origin: topo.url });
  try {
    const sessions = users.map((u, i) => client.session(u.key, { name: `user-${i}` }));
    const deltas = new Map<string, number>();
    const results = await Promise.all(
      sessions.map(async (s) => {
        const who = await s.whoami();
        const made = (await s.call("post", "/v1/orders", {
          body: { item: "pen", quantity: 2 },
        })) as { id: string; quantity: number };
        const read = (await s.call("get", "/v1/orders/{id}", { params: { id: made.id } })) as {
          id: string;
        };
        const models = (await s.call("get", "/v1/models")) as { data: { id: string }[] };
        const chat = await s.chat(
          { model: models.data[0]!.id, messages: [{ role: "user", content: "hello gateway" }] },
          { onDelta: () => deltas.set(s.name, (deltas.get(s.name) ?? 0) + 1) },
        );
        return { who, made, read, chat };
      }),
    );
    results.forEach((r, i) => {
      expect(r.who.userId).toBe(users[i]!.userId);
      expect(r.read.id).toBe(r.made.id);
      expect(r.chat.content.length).toBeGreaterThan(0);
      expect(r.chat.finishReason).not.toBeNull();
    });
    // Every chat was delivered as a stream of pieces, not one block.
    expect([...deltas.values()].every((n) => n > 1)).toBe(true);
    // A user sees only their own orders.
    const own = (await sessions[0]!.call("get", "/v1/orders")) as { data: { id: string }[] };
    expect(own.data.map((o) => o.id)).toEqual([results[0]!.made.id]);
    const t = await client.telemetry();
    expect(t["chat"]).toMatchObject({ count: 12, failed: 0 });
    expect(t["POST /v1/orders"]).toMatchObject({ count: 12, failed: 0 });
  } finally {
    await client.close();
  }
});

test("a 4 MiB upload in chunks and its download agree on SHA-256; a bad id is a clear 4xx", async () => {
  const { key } = await createUserKey(topo.url, admin, 100);
  const client = new PlatformClient({ origin: topo.url });
  try {
    const s = client.session(key);
    const path = join(work, "corpus.jsonl");
    writeFileSync(path, corpus(4 * 1024 * 1024));
    const progress: number[] = [];
    const file = await s.upload(
      { path },
      { purpose: "fine-tune", onProgress: (p) => progress.push(p.done) },
    );
    const expected = createHash("sha256").update(readFileSync(path)).digest("hex");
    expect(file).toMatchObject({ sha256: expected, client_sha256: expected, purpose: "fine-tune" });
    expect(progress.length).toBeGreaterThan(10);
    expect(progress.at(-1)).toBe(readFileSync(path).length);
    const back = await s.download({ fileId: file.id }, join(work, "back.jsonl"));
    expect(back).toMatchObject({ sha256: expected, bytes: readFileSync(path).length });
    const missing = await s
      .call("get", "/v1/files/{id}", { params: { id: "file-nope" } })
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(PlatformError);
    expect((missing as PlatformError).status).toBeGreaterThanOrEqual(400);
    expect((missing as PlatformError).status).toBeLessThan(500);
  } finally {
    await client.close();
  }
});

test("a rotated key replaces the old one, which the platform then refuses", async () => {
  const { key } = await createUserKey(topo.url, admin, 101);
  const client = new PlatformClient({ origin: topo.url });
  try {
    const s = client.session(key);
    const before = await s.whoami();
    const fresh = await s.rotateKey();
    expect(fresh).not.toBe(key);
    const after = await s.whoami();
    expect(after.userId).toBe(before.userId);
    expect(after.keyId).not.toBe(before.keyId);
    // The old key was verified a moment ago, and the gateways would believe that verdict for
    // VERDICT_FRESH_SECONDS; they follow revocations (every 2 s, each tier), so the old key is
    // refused well before: here within half of it.
    const deadline = Date.now() + (VERDICT_FRESH_SECONDS / 2) * 1000;
    let old: unknown;
    do {
      await new Promise((ok) => setTimeout(ok, 1_000));
      old = await client
        .session(key)
        .whoami()
        .catch((e: unknown) => e);
    } while (!(old instanceof PlatformError) && Date.now() < deadline);
    expect(old).toMatchObject({ status: 401 });
  } finally {
    await client.close();
  }
});

test("a requests thread killed under load costs only its own unkeyed POSTs", async () => {
  const users = await Promise.all(
    Array.from({ length: 6 }, (_, i) => createUserKey(topo.url, admin, 200 + i)),
  );
  const client = new PlatformClient({ origin: topo.url, threads: { requests: 2 } });
  const pool = client.executor as WorkerPool;
  try {
    const sessions = users.map((u) => client.session(u.key, { maxConcurrent: 4 }));
    const outcomes: { kind: string; ok: boolean; error?: Error }[] = [];
    const work = sessions.flatMap((s) =>
      Array.from({ length: 10 }, async (_, i) => {
        // Reads, keyed creates (the client adds the key), and raw POSTs with no key at all.
        const kind = ["read", "create", "unkeyed"][i % 3]!;
        try {
          if (kind === "read") await s.call("get", "/v1/orders");
          else if (kind === "create")
            await s.call("post", "/v1/orders", { body: { item: "ink", quantity: 1 } });
          else
            await client.executor.run("send", {
              origin: topo.url,
              key: users[sessions.indexOf(s)]!.key,
              method: "POST",
              path: "/v1/orders",
              body: { item: "nib", quantity: 1 },
            });
          outcomes.push({ kind, ok: true });
        } catch (err) {
          outcomes.push({ kind, ok: false, error: err as Error });
        }
      }),
    );
    await new Promise((ok) => setTimeout(ok, 20));
    pool.crash("requests", 0);
    await Promise.all(work);
    expect(pool.replaced).toEqual({ requests: 1 });
    const failed = outcomes.filter((o) => !o.ok);
    // Only unkeyed POSTs may fail, and only as the crash's, never as anything else.
    for (const f of failed) {
      expect(f.kind).toBe("unkeyed");
      expect(f.error).toBeInstanceOf(WorkerCrashedError);
    }
    expect(outcomes.filter((o) => o.kind !== "unkeyed").every((o) => o.ok)).toBe(true);
    console.log(
      `crash drill: ${outcomes.length} operations, ${failed.length} failed (unkeyed POSTs in flight on the killed thread)`,
    );
  } finally {
    await client.close();
  }
});

test("a 429 storm from the gateway's limiter: retries bounded by Retry-After, every call settles", async () => {
  const { key } = await createUserKey(topo.url, admin, 300);
  const client = new PlatformClient({ origin: topo.url, retry: { maxRetryAfterMs: 5_000 } });
  try {
    const s = client.session(key, { maxConcurrent: 10 });
    const started = Date.now();
    const settled = await Promise.allSettled(
      Array.from({ length: 3 * ORDERS_PER_KEY.limit }, () => s.call("get", "/v1/orders")),
    );
    const refused = settled.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
    // The key's allowance went through; the rest met the limiter and were told so.
    expect(settled.length - refused.length).toBeGreaterThanOrEqual(ORDERS_PER_KEY.limit);
    expect(refused.length).toBeGreaterThan(0);
    for (const err of refused) {
      expect(err).toBeInstanceOf(PlatformError);
      const e = err as PlatformError;
      expect({ status: e.status, type: e.type }).toEqual({ status: 429, type: "rate_limit_error" });
      // Retried while the wait it was told fit the bound, then given up with the wait named.
      expect(e.retryAfterMs).toBeGreaterThan(0);
      expect(e.attempts).toBeLessThanOrEqual(4);
    }
    const t = await client.telemetry();
    expect(t["GET /v1/orders"]!.retries).toBeGreaterThan(0);
    console.log(
      `429 storm: ${settled.length} calls settled in ${((Date.now() - started) / 1000).toFixed(1)} s, ${refused.length} refused, ${t["GET /v1/orders"]!.retries} retries`,
    );
  } finally {
    await client.close();
  }
});

/** The CLI as a person runs it: `npx platform ...` from the repository. */
function platform(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((ok) =>
    execFile(
      join(ROOT, "node_modules/.bin/platform"),
      args,
      {
        // A CLI that hangs fails here instead of at the test's own timeout.
        timeout: 60_000,
        cwd: ROOT,
        env: {
          ...process.env,
          NODE_OPTIONS: "",
          PLATFORM_URL: topo.url,
          PLATFORM_API_KEY: topo.apiKey,
          ...env,
        },
      },
      (err, stdout, stderr) => ok({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

test("the CLI: status, a streamed chat, an order, an upload with progress, and clear refusals", async () => {
  const status = await platform(["status"]);
  expect(status.stderr).toBe("");
  expect(status.stdout).toMatch(/^user \S+ \(plan/);

  const chat = await platform(["chat", "hello", "there"]);
  expect(chat.code).toBe(0);
  expect(chat.stdout).toMatch(/\n\[[^,]+, (stop|length)/);

  const order = await platform(["orders", "create", "--item", "pen", "--quantity", "3"]);
  expect(JSON.parse(order.stdout)).toMatchObject({ item: "pen", quantity: 3 });

  const path = join(work, "cli.jsonl");
  writeFileSync(path, corpus(2 * 1024 * 1024));
  const up = await platform(["files", "upload", path]);
  expect(up.code).toBe(0);
  expect(up.stderr).toContain("100% (2.0/2.0 MiB)");
  expect(up.stdout).toMatch(/^file_\S+ cli\.jsonl \d+ bytes sha256 [0-9a-f]{64} \(checked\)/);

  const badKey = await platform(["status"], { PLATFORM_API_KEY: "sk-nope" });
  expect(badKey.code).toBe(2);
  expect(badKey.stderr).toMatch(/^platform: the API key is malformed/);
  const wrongKey = await platform(["status"], {
    PLATFORM_API_KEY: "sk-wrong-0123456789abcdefghijkl",
  });
  expect(wrongKey.code).toBe(1);
  expect(wrongKey.stderr).toMatch(/^platform: 401 /);
  const nowhere = await platform(["status", "--url", "http://127.0.0.1:9"]);
  expect(nowhere.code).toBe(1);
  expect(nowhere.stderr).toMatch(
    /cannot reach http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\) after 4 attempts/,
  );
  const unknown = await platform(["orders", "frobnicate"]);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toContain("unknown command: orders frobnicate");
});
