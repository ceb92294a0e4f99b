import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createDatabase } from "../../test/servers/index.ts";
import { signedCall } from "../../test/support/serviceApp.ts";
import { startServiceProcess, type ServiceProcess } from "../../test/support/serviceProcess.ts";
import { principalHeaders, type Principal } from "../shared/principal.ts";

// The workflow service as it runs: two replicas (its own program, twice) on a real PostgreSQL,
// whose steps reach a stand-in gateway tier: a real HTTP server that checks the caller's key and
// keeps articles and orders in memory, answering as the test tells it. Runs end to end with
// templates, conditions and retries; a failed step compensates; a run survives the SIGKILL of
// the replica running it, and its call is repeated under the same idempotency key; a schedule
// fires once per occurrence across both replicas; bad definitions and crons are refused by field.

process.env["LOG_LEVEL"] ??= "silent";
jest.setTimeout(240_000);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the assertions check the shape
type Json = Record<string, any>;

const KEY = "Bearer sk-workflow-owner";
const owner: Principal = { userId: "user-wf", keyId: "key_wf", plan: "free" };
const other: Principal = { userId: "user-other", keyId: "key_other", plan: "free" };

/** What the stand-in tier saw and does. */
const tier = {
  calls: [] as { method: string; path: string; key?: string; idempotencyKey?: string }[],
  articles: new Map<string, Json>(),
  byKey: new Map<string, string>(),
  /** How POST /v1/orders answers: a status, or `hang` (never). */
  orders: "201" as string,
};

function tierHandler(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const send = (status: number, body: unknown) =>
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (req.url === "/readyz") return send(200, {});
    const idempotencyKey = req.headers["idempotency-key"] as string | undefined;
    tier.calls.push({
      method: req.method!,
      path: req.url!,
      key: req.headers.authorization,
      idempotencyKey,
    });
    if (req.headers.authorization !== KEY)
      return send(401, { error: { message: "invalid API key" } });
    const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString()) as Json) : {};
    const [, , kind, id] = req.url!.split("?")[0]!.split("/");
    if (kind === "articles" && req.method === "POST") {
      const known = idempotencyKey && tier.byKey.get(idempotencyKey);
      const article = known
        ? tier.articles.get(known)!
        : { id: `art_${tier.articles.size + 1}`, title: body["title"] };
      tier.articles.set(article["id"] as string, article);
      if (idempotencyKey) tier.byKey.set(idempotencyKey, article["id"] as string);
      return send(201, article);
    }
    if (kind === "articles" && req.method === "GET") {
      const article = tier.articles.get(id!);
      return article ? send(200, article) : send(404, { error: { message: `no article ${id}` } });
    }
    if (kind === "articles" && req.method === "DELETE") {
      tier.articles.delete(id!);
      return void res.writeHead(204).end();
    }
    if (kind === "orders" && req.method === "GET") return send(200, { object: "list", data: [] });
    if (kind === "orders" && req.method === "POST") {
      if (tier.orders === "hang") return;
      const status = Number(tier.orders);
      return send(status, status < 300 ? { id: "ord_1" } : { error: { message: "no orders now" } });
    }
    send(404, { error: { message: `no route ${req.url}` } });
  });
}

let server: Server;
let tierUrl: string;
let dbUrl: string;
const replicas: ServiceProcess[] = [];

async function startReplica(
  database = dbUrl,
  env: Record<string, string> = {},
): Promise<ServiceProcess> {
  const replica = await startServiceProcess("workflows", "business", {
    ...env,
    DATABASE_URL: database,
    TIER_BUSINESS: tierUrl,
    TIER_IDENTITY: tierUrl,
    WORKFLOWS_SUPERVISE_SECONDS: "1",
    WORKFLOWS_CRON_CHECK_SECONDS: "1",
  });
  replicas.push(replica);
  return replica;
}

/** A request to a replica as its tier sends it: the principal signed, the caller's key passed. */
async function api(
  replica: ServiceProcess,
  method: string,
  path: string,
  body?: unknown,
  who: Principal = owner,
): Promise<{ status: number; body: Json }> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const headers = signedCall(method, path, text, {
    ...principalHeaders(who),
    ...(text ? { "content-type": "application/json" } : {}),
  });
  const res = await fetch(`${replica.url}${path}`, {
    method,
    headers: { ...headers, authorization: KEY },
    body: text,
  });
  const answer = await res.text();
  return { status: res.status, body: answer ? (JSON.parse(answer) as Json) : {} };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((ok) => setTimeout(ok, 200));
  }
}

const finished = (replica: ServiceProcess, id: string) =>
  until(`run ${id} to finish`, async () => {
    const { body } = await api(replica, "GET", `/v1/workflow-runs/${id}`);
    return ["succeeded", "failed", "cancelled"].includes(body["status"]) ? body : undefined;
  });

async function createWorkflow(replica: ServiceProcess, definition: Json): Promise<string> {
  const { status, body } = await api(replica, "POST", "/v1/workflows", definition);
  expect([status, body["error"]]).toEqual([201, undefined]);
  return body["id"] as string;
}

beforeAll(async () => {
  server = createServer(tierHandler);
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  tierUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dbUrl = await createDatabase("workflowstest");
  // One after the other: the first installs pg-boss's tables.
  await startReplica();
  await startReplica();
});

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.stop()));
  server.closeAllConnections();
  await new Promise((ok) => server.close(ok));
});

beforeEach(() => {
  tier.calls.length = 0;
  tier.orders = "201";
});

const publish = {
  name: "publish and check",
  inputs: {
    title: { type: "string" },
    check: { type: "boolean", default: true },
  },
  steps: [
    {
      name: "create",
      call: "createArticle",
      args: { body: { title: "{{ input.title }}", body: "by a workflow" } },
      compensate: { call: "deleteArticle", args: { id: "{{ steps.create.output.id }}" } },
    },
    {
      name: "read",
      if: { value: "{{ input.check }}", op: "eq", than: true },
      call: "getArticle",
      args: { id: "{{ steps.create.output.id }}" },
    },
    {
      name: "same_title",
      if: { value: "{{ input.check }}", op: "eq", than: true },
      assert: [{ value: "{{ steps.read.output.title }}", op: "eq", than: "{{ input.title }}" }],
    },
    {
      name: "order",
      call: "createOrder",
      args: { body: { item: "copy of {{ steps.create.output.id }}", quantity: 1 } },
      retry: { attempts: 3, backoff_seconds: 1 },
      timeout_seconds: 3,
    },
  ],
};

describe("runs", () => {
  it("runs each step as the key's owner, with templates, conditions and an idempotency key", async () => {
    const [a] = replicas;
    const id = await createWorkflow(a!, publish);
    const started = await api(a!, "POST", `/v1/workflows/${id}/runs`, {
      input: { title: "Hello" },
    });
    expect(started.status).toBe(202);
    const run = await finished(a!, started.body["id"]);
    expect(run["status"]).toBe("succeeded");
    expect(run["steps"].map((s: Json) => [s.name, s.status])).toEqual([
      ["create", "succeeded"],
      ["read", "succeeded"],
      ["same_title", "succeeded"],
      ["order", "succeeded"],
    ]);
    expect(run["steps"][1].output.title).toBe("Hello");
    expect(tier.calls.every((c) => c.key === KEY)).toBe(true);
    const create = tier.calls.find((c) => c.method === "POST" && c.path === "/v1/articles")!;
    expect(create.idempotencyKey).toBe(`wf-${run["id"]}-create`);
    // Another user sees no such run.
    expect((await api(a!, "GET", `/v1/workflow-runs/${run["id"]}`, undefined, other)).status).toBe(
      404,
    );
  });

  it("skips a step whose condition does not hold", async () => {
    const [a] = replicas;
    const id = await createWorkflow(a!, publish);
    const started = await api(a!, "POST", `/v1/workflows/${id}/runs`, {
      input: { title: "T", check: false },
    });
    const run = await finished(a!, started.body["id"]);
    expect(run["steps"].map((s: Json) => s.status)).toEqual([
      "succeeded",
      "skipped",
      "skipped",
      "succeeded",
    ]);
  });

  it("retries a failing call with backoff, then goes on", async () => {
    const [a] = replicas;
    tier.orders = "503";
    const id = await createWorkflow(a!, publish);
    const started = await api(a!, "POST", `/v1/workflows/${id}/runs`, { input: { title: "R" } });
    await until("two failed order attempts", async () =>
      tier.calls.filter((c) => c.path === "/v1/orders").length >= 2 ? true : undefined,
    );
    tier.orders = "201";
    const run = await finished(a!, started.body["id"]);
    expect(run["status"]).toBe("succeeded");
    expect(run["steps"][3].attempts).toBeGreaterThanOrEqual(3);
  });

  it("compensates the finished steps when a step fails for good", async () => {
    const [a] = replicas;
    tier.orders = "400";
    const id = await createWorkflow(a!, publish);
    const started = await api(a!, "POST", `/v1/workflows/${id}/runs`, { input: { title: "C" } });
    const run = await finished(a!, started.body["id"]);
    expect(run["status"]).toBe("failed");
    expect(run["error"]).toMatch(/step order: createOrder answered 400: no orders now/);
    expect(run["steps"].map((s: Json) => s.status)).toEqual([
      "compensated",
      "succeeded",
      "succeeded",
      "failed",
    ]);
    const articleId = run["steps"][0].output.id as string;
    expect(tier.articles.has(articleId)).toBe(false);
    // A refusal is not retried.
    expect(tier.calls.filter((c) => c.method === "POST" && c.path === "/v1/orders")).toHaveLength(
      1,
    );
  });

  it("polls a call until its answer is the one it waits for", async () => {
    const [a] = replicas;
    const id = await createWorkflow(a!, {
      name: "poll",
      steps: [
        { name: "create", call: "createArticle", args: { body: { title: "draft", body: "b" } } },
        {
          name: "ready",
          call: "getArticle",
          args: { id: "{{ steps.create.output.id }}" },
          until: [{ value: "{{ steps.ready.output.title }}", op: "eq", than: "published" }],
          poll_seconds: 1,
        },
      ],
    });
    const started = await api(a!, "POST", `/v1/workflows/${id}/runs`, {});
    await until("two polls", async () =>
      tier.calls.filter((c) => c.method === "GET" && c.path.startsWith("/v1/articles/")).length >= 2
        ? true
        : undefined,
    );
    const { body } = await api(a!, "GET", `/v1/workflow-runs/${started.body["id"]}`);
    expect(body["steps"][1].status).toBe("waiting");
    tier.articles.get(body["steps"][0].output.id)!["title"] = "published";
    const run = await finished(a!, started.body["id"]);
    expect(run["status"]).toBe("succeeded");
    expect(run["steps"][1].attempts).toBeGreaterThanOrEqual(3);
    expect(run["steps"][1].output.title).toBe("published");
  });

  it("is cancelled while it waits, and compensated", async () => {
    const [a] = replicas;
    const id = await createWorkflow(a!, {
      name: "wait",
      inputs: { title: { type: "string", default: "W" } },
      steps: [
        publish.steps[0],
        { name: "pause", wait_seconds: 600 },
        { name: "never", call: "listOrders" },
      ],
    });
    const started = await api(a!, "POST", `/v1/workflows/${id}/runs`, {});
    await until("the wait", async () => {
      const { body } = await api(a!, "GET", `/v1/workflow-runs/${started.body["id"]}`);
      return body["steps"][1].status === "waiting" ? true : undefined;
    });
    const cancel = await api(a!, "POST", `/v1/workflow-runs/${started.body["id"]}/cancel`);
    expect(cancel.status).toBe(202);
    const run = await finished(a!, started.body["id"]);
    expect([run["status"], run["steps"][0].status, run["steps"][2].status]).toEqual([
      "cancelled",
      "compensated",
      "pending",
    ]);
    expect((await api(a!, "POST", `/v1/workflow-runs/${run["id"]}/cancel`)).status).toBe(409);
  });

  it("resumes a run whose replica was killed mid-step, calling again under the same key", async () => {
    // A database of its own, so that the replica that takes the step is the one killed.
    const database = await createDatabase("workflowscrash");
    const victim = await startReplica(database);
    tier.orders = "hang";
    const id = await createWorkflow(victim, {
      name: "crash",
      steps: [
        {
          name: "order",
          call: "createOrder",
          args: { body: { item: "x", quantity: 1 } },
          timeout_seconds: 2,
        },
        { name: "after", call: "listOrders" },
      ],
    });
    const started = await api(victim, "POST", `/v1/workflows/${id}/runs`, {});
    const runId = started.body["id"] as string;
    await until("the order call", async () =>
      tier.calls.some((c) => c.path === "/v1/orders") ? true : undefined,
    );
    victim.proc.kill("SIGKILL");
    tier.orders = "201";
    const successor = await startReplica(database);
    const run = await finished(successor, runId);
    expect([run["status"], run["error"]]).toEqual(["succeeded", null]);
    expect(run["steps"].map((s: Json) => s.status)).toEqual(["succeeded", "succeeded"]);
    const orderCalls = tier.calls.filter((c) => c.method === "POST" && c.path === "/v1/orders");
    expect(orderCalls).toHaveLength(2);
    expect(new Set(orderCalls.map((c) => c.idempotencyKey))).toEqual(
      new Set([`wf-${runId}-order`]),
    );
  });
});

describe("schedules", () => {
  it("fire once per occurrence across both replicas", async () => {
    const [a] = replicas;
    const id = await createWorkflow(a!, {
      name: "tick",
      steps: [{ name: "list", call: "listOrders" }],
    });
    // Hourly, at a minute a few seconds ahead: the one occurrence inside the test. An every-minute
    // schedule would fire again, rightly, whenever the wait below crossed a minute.
    const occurrence = Math.ceil((Date.now() + 5_000) / 60_000) * 60_000;
    const created = await api(a!, "POST", "/v1/schedules", {
      workflow_id: id,
      cron: `${new Date(occurrence).getUTCMinutes()} * * * *`,
      timezone: "Europe/Paris",
    });
    expect(created.status).toBe(201);
    const scheduleId = created.body["id"] as string;
    const fired = await until(
      "the first firing",
      async () => {
        const { body } = await api(a!, "GET", `/v1/schedules/${scheduleId}`);
        return body["fired"] >= 1 ? body : undefined;
      },
      100_000,
    );
    // An occurrence stays due for a minute and both replicas' cron passes look at it (each every
    // 30 s): a second start of it would show once that minute is over.
    await new Promise((ok) => setTimeout(ok, Math.max(0, occurrence + 62_000 - Date.now())));
    const runs = await api(a!, "GET", `/v1/workflow-runs?workflow_id=${id}`);
    expect(runs.body["data"]).toHaveLength(1);
    expect(runs.body["data"][0].trigger).toEqual({ kind: "schedule", schedule_id: scheduleId });
    expect(runs.body["data"][0].created_at).toBeGreaterThanOrEqual(occurrence);
    expect(fired["last_fired_at"]).toBeGreaterThanOrEqual(occurrence);
    expect((await api(a!, "DELETE", `/v1/schedules/${scheduleId}`)).status).toBe(204);
    expect((await api(a!, "GET", `/v1/schedules/${scheduleId}`)).status).toBe(404);
  });
});
