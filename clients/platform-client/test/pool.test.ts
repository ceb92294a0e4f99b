import { PlatformClient } from "../src/client.ts";
import { WorkerCrashedError } from "../src/errors.ts";
import { WorkerPool } from "../src/pool.ts";
import { json, KEY, scriptedServer } from "./scriptedServer.ts";

// The worker threads: each kind of task in threads of its own, and a thread that dies costs only
// its own in-flight tasks, the repeatable ones retried once on the replacement.

/** Answers after `ms`, so a task is still in flight when its thread is made to crash. */
const slowServer = (ms: number) =>
  scriptedServer((req, res, body) =>
    setTimeout(
      () => json(res, req.method === "POST" ? 201 : 200, { path: req.url, body: body.toString() }),
      ms,
    ),
  );

it("runs each task in a thread of its kind, off the caller's thread", async () => {
  const server = await slowServer(0);
  const pool = new WorkerPool({ threads: { requests: 2, streams: 1 } });
  try {
    const kinds = pool.threads().map((t) => t.kind);
    expect(kinds.filter((k) => k === "requests")).toHaveLength(2);
    expect(new Set(kinds)).toEqual(
      new Set(["requests", "streams", "uploads", "sessions", "telemetry"]),
    );
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        pool.run("send", {
          origin: server.origin,
          key: KEY,
          method: "GET",
          path: `/v1/orders/${i}`,
        }),
      ),
    );
    expect(answers.map((a) => (a.body as { path: string }).path)).toEqual(
      Array.from({ length: 20 }, (_, i) => `/v1/orders/${i}`),
    );
  } finally {
    await pool.close();
    await server.close();
  }
});

it("a crashed thread is replaced; its GETs are retried, its unkeyed POSTs fail clearly, others carry on", async () => {
  const server = await slowServer(400);
  const pool = new WorkerPool({ threads: { requests: 2 } });
  try {
    const send = (method: "GET" | "POST", i: number, idempotencyKey?: string) =>
      pool.run("send", {
        origin: server.origin,
        key: KEY,
        method,
        path: `/v1/orders/${i}`,
        ...(method === "POST" ? { body: { i } } : {}),
        ...(idempotencyKey ? { idempotencyKey } : {}),
      });
    // Least-loaded dispatch alternates: even tasks on thread 0, odd on thread 1.
    const tasks = [
      send("GET", 0),
      send("GET", 1),
      send("POST", 2),
      send("POST", 3),
      send("POST", 4, "k-4"),
    ];
    await new Promise((ok) => setTimeout(ok, 100));
    const before = pool.threads().find((t) => t.kind === "requests" && t.index === 0)!;
    expect(before.running).toBe(3);
    pool.crash("requests", 0);
    const settled = await Promise.allSettled(tasks);
    expect(settled.map((s) => s.status)).toEqual([
      "fulfilled",
      "fulfilled",
      "rejected",
      "fulfilled",
      "fulfilled",
    ]);
    const lost = (settled[2] as PromiseRejectedResult).reason as Error;
    expect(lost).toBeInstanceOf(WorkerCrashedError);
    expect(lost.message).toMatch(
      /the requests thread running send crashed \(requests worker crashed on purpose\); not retried: POST \/v1\/orders\/2 has no Idempotency-Key/,
    );
    expect(pool.replaced).toEqual({ requests: 1 });
    const after = pool.threads().find((t) => t.kind === "requests" && t.index === 0)!;
    expect(after.threadId).not.toBe(before.threadId);
    // The replacement works.
    await expect(send("GET", 5)).resolves.toMatchObject({ status: 200 });
  } finally {
    await pool.close();
    await server.close();
  }
});

it("sessions keep their own limits and counts; telemetry sums them per operation", async () => {
  const server = await slowServer(20);
  const client = new PlatformClient({ origin: server.origin, threads: { requests: 2 } });
  try {
    const sessions = Array.from({ length: 50 }, (_, i) =>
      client.session(`${KEY}${i}`, { name: `s${i}`, maxConcurrent: 2 }),
    );
    await Promise.all(
      sessions.flatMap((s) =>
        Array.from({ length: 4 }, (_, i) =>
          s.call("get", "/v1/orders/{id}", { params: { id: `o${i}` } }),
        ),
      ),
    );
    expect(sessions.every((s) => s.state().done === 4 && s.state().running === 0)).toBe(true);
    // Each session's own key went out with its calls.
    const keys = new Set(server.seen.map((r) => r.headers.authorization));
    expect(keys.size).toBe(50);
    // The telemetry thread receives records one-way: give it a moment to have them all.
    await new Promise((ok) => setTimeout(ok, 100));
    const t = await client.telemetry();
    expect(t["GET /v1/orders/{id}"]).toMatchObject({ count: 200, failed: 0 });
    expect(() => client.session("not-a-key")).toThrow(/the API key is malformed/);
    expect(() => new PlatformClient({ origin: "localhost:8080" })).toThrow(
      /origin: .* is not http: or https:/,
    );
  } finally {
    await client.close();
    await server.close();
  }
});

it("an idle client that is never closed does not keep its process alive", async () => {
  const { execFile } = await import("node:child_process");
  const client = new URL("../src/client.ts", `file://${__filename}`).pathname;
  const script = `import { PlatformClient } from ${JSON.stringify(client)};
new PlatformClient({ origin: "http://127.0.0.1:9" }); console.log("made");`;
  const { code, stdout } = await new Promise<{ code: number | string | null; stdout: string }>(
    (ok) =>
      execFile(
        process.execPath,
        ["--input-type=module", "-e", script],
        { timeout: 20_000, env: { ...process.env, NODE_OPTIONS: "" } },
        (err, out) => ok({ code: err ? (err.code ?? err.signal ?? 1) : 0, stdout: out }),
      ),
  );
  expect({ code, stdout }).toEqual({ code: 0, stdout: "made\n" });
});
