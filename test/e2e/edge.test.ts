import { readdirSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import fc from "fast-check";
import { createDatabase } from "../servers/index.ts";
import { requireEnv } from "../support/kafka.ts";
import {
  newUsersKey,
  startTopology,
  type RunningTopology,
  TOPOLOGY_READY_MS,
} from "../support/localTopology.ts";
import { startFakeUpstream, type FakeUpstream } from "../support/openaiUpstream.ts";

// The edge as a hostile or merely ordinary client meets it (issue #13): `npm start`'s topology on
// real PostgreSQL, Redis and Kafka, spoken to over raw HTTP so that request targets and headers
// reach the router exactly as sent. The remote model is a stand-in that refuses every request.

let topo: RunningTopology;
let upstream: FakeUpstream;
let databaseUrl: string;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  upstream.set({ status: 400 });
  databaseUrl = await createDatabase("e2e_edge");
  topo = await startTopology({
    DATABASE_URL: databaseUrl,
    REDIS_URL: requireEnv("TEST_REDIS_URL"),
    KAFKA_BROKERS: requireEnv("TEST_KAFKA_BROKERS"),
    INFERENCE_UPSTREAM_URL: upstream.url,
    MODEL_UPSTREAM_MODELS: "remote-chat",
  });
}, TOPOLOGY_READY_MS + 30_000);

afterAll(async () => {
  expect(await topo?.stop()).toBe(0);
  await upstream?.close();
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

interface Sent {
  method?: string;
  /** The request target exactly as it goes on the wire. */
  target: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** Send the body only once the server says 100 Continue, as curl does for large uploads. */
  waitForContinue?: boolean;
}

function send(r: Sent): Promise<Answer> {
  const url = new URL(topo.url);
  return new Promise((ok, fail) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method: r.method ?? "GET",
        path: r.target,
        headers: {
          ...(r.body ? { "content-length": String(r.body.length) } : {}),
          ...r.headers,
        },
        agent: false,
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (text += d));
        res.once("end", () => ok({ status: res.statusCode ?? 0, headers: res.headers, text }));
        res.once("error", fail);
      },
    );
    req.once("error", fail);
    if (r.body && r.waitForContinue) req.once("continue", () => req.end(r.body));
    else req.end(r.body);
  });
}

const bearer = () => ({ authorization: `Bearer ${topo.apiKey}` });

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the assertions check the shape
const json = (a: Answer): Record<string, any> => JSON.parse(a.text);

/** A multipart upload of `bytes` bytes to /v1/files, as `curl -F file=@...` sends it. */
function upload(bytes: number, purpose = "fine-tune", content?: Buffer): Sent {
  const boundary = "----edge-test-boundary";
  const file = content ?? Buffer.alloc(bytes, 0x61);
  const body = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\ncontent-disposition: form-data; name="purpose"\r\n\r\n${purpose}\r\n` +
        `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="f.txt"\r\n` +
        "content-type: text/plain\r\n\r\n",
    ),
    file,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return {
    method: "POST",
    target: "/v1/files",
    headers: { ...bearer(), "content-type": `multipart/form-data; boundary=${boundary}` },
    body,
  };
}

function completion(model: string, content = "hello"): Sent {
  return {
    method: "POST",
    target: "/v1/chat/completions",
    headers: { ...bearer(), "content-type": "application/json" },
    body: Buffer.from(JSON.stringify({ model, messages: [{ role: "user", content }] })),
  };
}

function logLines(prefix: string): Array<Record<string, unknown>> {
  return readdirSync(topo.logDir)
    .filter((f) => f.startsWith(prefix))
    .flatMap((f) => readFileSync(join(topo.logDir, f), "utf8").trim().split("\n"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

test("no spelling of a request target escapes the rate limit (finding 1)", async () => {
  const limit = 60; // the catalog's per-key limit on /v1/models a minute, bursts included
  const answers: Record<string, number[]> = { plain: [], fragment: [], escaped: [] };
  for (let i = 0; i < limit + 15; i++) {
    answers.plain!.push((await send({ target: "/v1/models", headers: bearer() })).status);
    const fragment = await send({ target: "/v1/models#", headers: bearer() });
    answers.fragment!.push(fragment.status);
    expect(json(fragment).error).toMatchObject({ code: "invalid_request_target" });
    answers.escaped!.push((await send({ target: "/v1/mod%65ls", headers: bearer() })).status);
  }
  // `#`, `\` and dot segments are refused before any step reads them; `%65` is `e`, the same
  // path, so it shares the plain path's bucket and its 429s.
  expect(new Set(answers.fragment)).toEqual(new Set([400]));
  for (const target of ["/v1\\models", "/v1/./models", "/v1/x/%2E%2E/models"]) {
    expect((await send({ target, headers: bearer() })).status).toBe(400);
  }
  // One bucket for both spellings: each meets 429s, and together they are served about `limit`
  // times (plus what the window refills while the test runs), not twice that.
  const served = [...answers.plain!, ...answers.escaped!].filter((s) => s === 200).length;
  expect(served).toBeLessThan(2 * limit);
  expect(answers.plain).toContain(429);
  expect(answers.escaped).toContain(429);
});

test("Expect: 100-continue works for a 2 MB upload and a GET, and opens no breaker (finding 4)", async () => {
  for (let i = 0; i < 6; i++) {
    const res = await send({
      ...upload(2 * 1024 * 1024),
      headers: { ...upload(0).headers, expect: "100-continue" },
      waitForContinue: true,
    });
    expect([res.status, json(res)["object"]]).toEqual([200, "file"]);
  }
  for (let i = 0; i < 6; i++) {
    const res = await send({
      target: "/v1/orders",
      headers: {
        ...bearer(),
        expect: "100-continue",
        connection: "keep-alive, x-hop",
        "x-hop": "1",
      },
    });
    expect(res.status).toBe(200);
  }
  // An expectation no hop can meet is the client's 417, never an upstream failure.
  const odd = await send({ target: "/v1/orders", headers: { ...bearer(), expect: "tea" } });
  expect(odd.status).toBe(417);
});

test("a caller's deleted model file is its 404 and opens no breaker for others (finding 5)", async () => {
  const corpus = Buffer.from("The quiet harbour keeps the blue boats.\nBlue boats sail at dawn.\n");
  const file = json(await send(upload(0, "fine-tune", corpus)));
  const queued = json(
    await send({
      method: "POST",
      target: "/v1/training/jobs",
      headers: { ...bearer(), "content-type": "application/json" },
      body: Buffer.from(JSON.stringify({ suffix: "harbour", corpus: { file_id: file["id"] } })),
    }),
  );
  let job = queued;
  while (job["status"] === "queued" || job["status"] === "running") {
    await new Promise((ok) => setTimeout(ok, 200));
    job = json(await send({ target: `/v1/training/jobs/${job["id"]}`, headers: bearer() }));
  }
  expect(job["status"]).toBe("succeeded");
  const deleted = await send({
    method: "DELETE",
    target: `/v1/files/${job["result_file"]}`,
    headers: bearer(),
  });
  expect(deleted.status).toBe(200);

  // More than the breaker's threshold of the caller's own failures in a row.
  for (let i = 0; i < 7; i++) {
    const res = await send(completion(job["model"] as string));
    expect([res.status, json(res).error?.code]).toEqual([404, "model_file_not_found"]);
  }
  const other = await send(completion("ngram-3"));
  expect([other.status, json(other)["object"]]).toEqual([200, "chat.completion"]);
}, 120_000);

test.each([
  ["an upload", "/v1/files", "application/octet-stream", 5 * 1024 * 1024, 64 * 1024],
  ["a small JSON body", "/v1/orders", "application/json", 16 * 1024, 1024],
])(
  "%s without a key is refused before its body is read (finding 6)",
  async (_what, path, type, announced, sent) => {
    // Part of the body the request announces, then nothing: held by the router or read by the
    // gateway before the key check, the request would hang until a time-out; streamed through to
    // the gateway, which checks the key (and the per-address limit) first, it is refused at once.
    const url = new URL(topo.url);
    const res = await new Promise<Answer>((ok, fail) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          method: "POST",
          path,
          headers: { "content-type": type, "content-length": String(announced) },
          agent: false,
        },
        (r) => {
          let text = "";
          r.on("data", (d: Buffer) => (text += d.toString()));
          r.once("end", () => {
            ok({ status: r.statusCode ?? 0, headers: r.headers, text });
            req.destroy();
          });
        },
      );
      req.once("error", (err) => (req.destroyed ? undefined : fail(err)));
      req.write(Buffer.alloc(sent, 0x61));
    });
    expect(res.status).toBe(401);
    expect(json(res).error).toMatchObject({ code: "invalid_api_key" });
  },
  30_000,
);

test("what reaches a service's or a tier's port without the stack's signature acts as no one (finding 8)", async () => {
  const direct = (name: string, method: string, path: string, body: unknown, headers = {}) =>
    fetch(`http://127.0.0.1:${topo.portOf(name)}${path}`, {
      method,
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });
  const cases: Array<[string, Response]> = [
    [
      "register a model",
      await direct("model-1", "POST", "/internal/models", {
        name: "ngram-3",
        backend: "builtin",
        config: { corpus: "default" },
      }),
    ],
    [
      "move an alias",
      await direct("model-1", "PUT", "/internal/aliases/deepseek-chat", { name: "ngram-3" }),
    ],
    [
      "consume someone's quota",
      await direct("identity-gateway-1", "POST", "/internal/quota/check", {
        userId: "user-x",
        plan: "free",
      }),
    ],
    [
      "ask for a key's principal",
      await direct("business-gateway-1", "POST", "/internal/verify", { key: topo.apiKey }),
    ],
    [
      "act as a user with made-up principal headers",
      await direct(
        "orders-1",
        "POST",
        "/v1/orders",
        { item: "pen", quantity: 1 },
        {
          "x-principal-user": "user-x",
          "x-principal-key": "key-x",
          "x-principal-plan": "free",
        },
      ),
    ],
  ];
  for (const [what, res] of cases) {
    expect([
      what,
      res.status,
      ((await res.json()) as { error: { code: string } }).error.code,
    ]).toEqual([what, 401, "invalid_api_key"]);
  }
});

test("the router's metrics and readiness details are off its public port (finding 10)", async () => {
  const metrics = await send({ target: "/metrics" });
  expect([metrics.status, json(metrics).error?.code]).toEqual([404, "route_not_found"]);
  // Probes still read the public /healthz and /readyz; which tiers are up is not said there.
  expect((await send({ target: "/healthz" })).status).toBe(200);
  const ready = await send({ target: "/readyz" });
  expect([ready.status, json(ready)]).toEqual([200, { status: "ready" }]);
  // Monitoring reads both on each replica's ops port.
  const ops = `http://127.0.0.1:${topo.opsPortOf("router-1")}`;
  expect(await (await fetch(`${ops}/metrics`)).text()).toContain("http_requests_total");
  expect(await (await fetch(`${ops}/readyz`)).json()).toMatchObject({
    upstreams: expect.any(Object),
  });
});

test("an upstream's error text stays in the log, with the request id (finding 14)", async () => {
  const res = await send(completion("remote-chat"));
  expect(res.status).toBe(400);
  const error = json(res).error;
  expect(error).toMatchObject({ code: "upstream_rejected", type: "invalid_request_error" });
  // The stand-in's own words are "refused with 400".
  expect(res.text).not.toContain("refused with");
  const requestId = res.headers["x-request-id"];
  const logged = logLines("inference").find((l) => l["requestId"] === requestId);
  expect(String(logged?.["detail"])).toContain("refused with 400");
});

/** A second user, on the free plan, made once as an operator makes one: its API key. */
let secondUser: Promise<string> | undefined;
const anotherUser = () => (secondUser ??= newUsersKey(topo.url, databaseUrl, "other@example.com"));

test("another user neither uses nor sees a trained model, nor gets its owner's cached answers (findings 3, 9)", async () => {
  const other = { authorization: `Bearer ${await anotherUser()}` };
  const job = json(
    await send({
      method: "POST",
      target: "/v1/training/jobs",
      headers: { ...bearer(), "content-type": "application/json" },
      body: Buffer.from(
        JSON.stringify({
          suffix: "edgeowner",
          corpus: { text: "The owner's private notes say the vault opens at dawn.\n" },
        }),
      ),
    }),
  );
  let done = job;
  while (done["status"] === "queued" || done["status"] === "running") {
    await new Promise((ok) => setTimeout(ok, 200));
    done = json(await send({ target: `/v1/training/jobs/${job["id"]}`, headers: bearer() }));
  }
  expect(done["status"]).toBe("succeeded");
  const listed = async (headers: Record<string, string>) =>
    (
      json(await send({ target: "/v1/models?limit=100", headers }))["data"] as Array<{ id: string }>
    ).map((m) => m.id);
  expect(await listed(bearer())).toContain(done["model"]);
  expect(await listed(other)).not.toContain(done["model"]);
  const stolen = await send({
    ...completion("ft-edgeowner"),
    headers: { ...other, "content-type": "application/json" },
  });
  expect([stolen.status, json(stolen).error?.code]).toEqual([404, "model_not_found"]);

  // The owner's answer at temperature 0 is cached for the owner, never served to another user.
  const ask = (headers: Record<string, string>) =>
    send({
      method: "POST",
      target: "/v1/chat/completions",
      headers: { ...headers, "content-type": "application/json" },
      body: Buffer.from(
        JSON.stringify({
          model: "ngram-3",
          temperature: 0,
          messages: [{ role: "user", content: "What do the edge test's owners ask?" }],
        }),
      ),
    });
  expect((await ask(bearer())).headers["x-cache"]).toBe("MISS");
  expect((await ask(bearer())).headers["x-cache"]).toBe("HIT");
  expect((await ask(other)).headers["x-cache"]).toBe("MISS");
}, 60_000);

test("GET /v1/models pages, as every list does (finding 12)", async () => {
  const other = { authorization: `Bearer ${await anotherUser()}` };
  const first = json(await send({ target: "/v1/models?limit=1", headers: other }));
  expect([first["data"].length, first["has_more"]]).toEqual([1, true]);
  const after = encodeURIComponent(first["data"][0].id as string);
  const next = json(await send({ target: `/v1/models?limit=1&after=${after}`, headers: other }));
  expect(next["data"]).toHaveLength(1);
  expect(next["data"][0].id).not.toBe(first["data"][0].id);
  const tooMany = await send({ target: "/v1/models?limit=5000", headers: other });
  expect([tooMany.status, json(tooMany).error?.param]).toEqual([400, "limit"]);
});

// The fuzzing pass: thousands of generated requests (methods, targets, headers, bodies) through
// the router; any 5xx, any error without a JSON body, any answer later than 10 s fails it, and
// the platform must still serve afterwards.
const ROUTES = [
  "/v1/models",
  "/v1/chat/completions",
  "/v1/orders",
  "/v1/files",
  "/v1/auth/whoami",
  "/v1/auth/keys",
  "/v1/users",
  "/v1/articles",
  "/v1/training/jobs",
  "/v1/videos",
  "/v1",
  "/",
  "/healthz",
  "/v1/openapi.json",
];
const printable = (max: number) =>
  fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    maxLength: max,
  });
// Target bytes Node's client will put on the wire (0x21-0xff), with RFC 3986's oddities weighted.
const targetChar = fc.oneof(
  fc.constantFrom(
    "/",
    "#",
    "\\",
    "%",
    "%2e",
    "%2F",
    "..",
    ".",
    "?",
    "&",
    "=",
    "%00",
    "%zz",
    "é",
    "~",
    "@",
  ),
  fc.integer({ min: 0x21, max: 0xff }).map((c) => String.fromCharCode(c)),
);
const target = fc
  .tuple(fc.constantFrom(...ROUTES), fc.array(targetChar, { maxLength: 12 }))
  .map(([route, tail]) => route + tail.join(""));
const body = fc.oneof(
  fc.constant(undefined),
  fc.json({ maxDepth: 3 }).map((j) => Buffer.from(j)),
  fc
    .constantFrom(
      '{"model":"ngram-3","messages":[{"role":"user","content":"hi"}],"max_tokens":4}',
      '{"item":"pen","quantity":1}',
      '{"model":"ngram-3","messages":[]}',
      "{",
      "null",
    )
    .map((s) => Buffer.from(s)),
  fc.uint8Array({ maxLength: 2048 }).map((a) => Buffer.from(a)),
);
const headers = fc.record(
  {
    authorization: fc.oneof(
      fc.constant("valid"),
      printable(60).map((s) => `Bearer ${s}`),
      printable(30),
    ),
    "content-type": fc.oneof(
      fc.constantFrom(
        "application/json",
        "text/plain",
        "multipart/form-data; boundary=x",
        "application/json; charset=utf-7",
      ),
      printable(40),
    ),
    expect: fc.constantFrom("100-continue", "nothing"),
    connection: fc.constantFrom("keep-alive", "close", "x-api-version, authorization", "te"),
    te: fc.constantFrom("trailers", "gzip"),
    "x-api-version": printable(8),
    "idempotency-key": printable(40),
    "x-forwarded-for": printable(40),
    "proxy-authorization": printable(20),
    accept: fc.constantFrom("text/event-stream", "application/json", "*/*"),
  },
  { requiredKeys: [] },
);
const fuzzed = fc.record({
  method: fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"),
  target,
  headers,
  body,
});

test("2 000 generated requests: never a 5xx, a non-JSON error or a hang", async () => {
  let sent = 0;
  await fc.assert(
    fc.asyncProperty(fuzzed, async (r) => {
      sent++;
      const hdrs: Record<string, string> = { ...r.headers } as Record<string, string>;
      if (hdrs["authorization"] === "valid") hdrs["authorization"] = `Bearer ${topo.apiKey}`;
      // A client that expects 100 Continue waits for it, as curl does (for one second at most).
      const answer = await Promise.race([
        send({ method: r.method, target: r.target, headers: hdrs, body: r.body }),
        new Promise<never>((_, fail) =>
          setTimeout(() => fail(new Error("no answer in 10 s")), 10_000).unref(),
        ),
      ]);
      expect(answer.status).toBeLessThan(500);
      if (answer.status >= 400 && r.method !== "HEAD") {
        expect(json(answer).error).toMatchObject({
          message: expect.any(String),
          type: expect.any(String),
          code: expect.any(String),
        });
      }
    }),
    { numRuns: 2_000, endOnFailure: true },
  );
  expect(sent).toBeGreaterThanOrEqual(2_000);
  expect((await send({ target: "/healthz" })).status).toBe(200);
  expect((await send({ target: "/v1/auth/whoami", headers: bearer() })).status).toBe(200);
}, 600_000);
