import { join } from "node:path";
import { Redis } from "ioredis";
import { createDatabase } from "../../test/servers/index.ts";
import { readTopic, requireEnv } from "../../test/support/kafka.ts";
import { startFakeUpstream, type FakeUpstream } from "../../test/support/openaiUpstream.ts";
import {
  principal,
  serveApp,
  type ServedApp,
  TEST_PRINCIPAL_SECRET,
} from "../../test/support/serviceApp.ts";
import { inferenceRoutes } from "../inference/app.ts";
import { builtinBackend, readCorpus } from "../inference/builtin.ts";
import { NgramModel } from "../inference/ngram.ts";
import { upstreamBackend } from "../inference/upstream.ts";
import { modelRoutes } from "../model/app.ts";
import { BUILTIN_MODEL, migrations as modelMigrations, modelStore } from "../model/store.ts";
import type { Cache } from "../shared/cache.ts";
import { redisCache } from "../shared/redisCache.ts";
import { kafkaBus, type EventBus } from "../shared/events.ts";
import { relayOnce } from "../shared/outbox.ts";
import { openDb, type Db } from "../shared/sql/db.ts";
import { migrate } from "../shared/sql/migrate.ts";
import { principalHeaders } from "../shared/principal.ts";
import { ReplicaSet } from "../shared/upstream.ts";
import { chatRoutes } from "./app.ts";
import { InferenceClient, ModelClient } from "./clients.ts";
import {
  CONVERSATION_MAX_MESSAGES,
  HISTORY_BUDGET_TOKENS,
  USAGE_TOPIC,
  chatStore,
  migrations,
} from "./store.ts";

// The chat service with what it runs on in a deployment: PostgreSQL (its own schema) for
// conversations and the outbox, Redis for the answer cache, Kafka for usage events, and the
// model and inference services over HTTP (inference's upstream backend against a real server
// that speaks the OpenAI streaming format, standing in for a remote API).

process.env["LOG_LEVEL"] ??= "silent";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the assertions check the shape
type Json = Record<string, any>;

let db: Db;
let modelDb: Db;
let cache: Cache;
let bus: EventBus;
let upstream: FakeUpstream;
let redis: Redis;
const prefix = `chat-test-${Date.now()}`;
const served: ServedApp[] = [];
const sets: ReplicaSet[] = [];
let chatUrl: string;
let modelRegistry: ReturnType<typeof modelStore>;
let modelSet: ReplicaSet;
/** Rows each read of a conversation's messages returned, in order. */
const historyReads: number[] = [];

/** The chat database as the store sees it, counting the rows each history read returns. */
function countingHistoryReads(inner: Db): Db {
  return {
    engine: inner.engine,
    query: async <T>(sql: string, params?: readonly unknown[]) => {
      const rows = await inner.query<T>(sql, params);
      if (/^\s*SELECT role, content FROM/.test(sql)) historyReads.push(rows.length);
      return rows;
    },
    transaction: (fn) => inner.transaction(fn),
    ping: () => inner.ping(),
    close: () => inner.close(),
  };
}

beforeAll(async () => {
  const url = await createDatabase("chattest");
  db = await openDb({ service: "chat", domain: "business", databaseUrl: url, dataDir: "" });
  modelDb = await openDb({ service: "model", domain: "business", databaseUrl: url, dataDir: "" });
  await migrate(db, "chat", migrations);
  await migrate(modelDb, "model", modelMigrations);
  const models = (modelRegistry = modelStore(modelDb));
  await models.seed(["remote-chat"]);
  // This flow's answers are the n-gram model's, which needs no model file (the language model
  // behind the same flow: languageModel.test.ts).
  await models.setAlias("deepseek-chat", BUILTIN_MODEL);
  cache = redisCache(requireEnv("TEST_REDIS_URL"), prefix);
  redis = new Redis(requireEnv("TEST_REDIS_URL"));
  bus = kafkaBus(requireEnv("TEST_KAFKA_BROKERS"), "chat-test");
  upstream = await startFakeUpstream();

  const modelApp = await serveApp("model", (app) => modelRoutes(app, models));
  const ngram = new NgramModel(readCorpus(join(__dirname, "../inference/corpus")));
  const inferenceApp = await serveApp("inference", (app, logger) =>
    inferenceRoutes(app, {
      builtin: builtinBackend(new Map([["default", ngram]])),
      upstream: upstreamBackend({ baseUrl: upstream.url }),
      maxConcurrent: 8,
      logger,
    }),
  );
  served.push(modelApp, inferenceApp);
  modelSet = new ReplicaSet("model", [modelApp.url], { signWith: TEST_PRINCIPAL_SECRET });
  // The first inference "replica" refuses connections: every call fails over to the live one.
  const inferenceSet = new ReplicaSet("inference", ["http://127.0.0.1:1", inferenceApp.url], {
    signWith: TEST_PRINCIPAL_SECRET,
  });
  sets.push(modelSet, inferenceSet);
  const routes = {
    store: chatStore(countingHistoryReads(db)),
    cache,
    models: new ModelClient(modelSet),
    inference: new InferenceClient(inferenceSet),
  };
  const chat = await serveApp("chat", (app, logger) => chatRoutes(app, { ...routes, logger }));
  served.push(chat);
  chatUrl = chat.url;
}, 60_000);

afterAll(async () => {
  await Promise.all(served.map((s) => s.close()));
  await Promise.all(sets.map((s) => s.close()));
  await upstream?.close();
  await Promise.all([db?.close(), modelDb?.close(), cache?.close(), bus?.close()]);
  redis?.disconnect();
});

async function complete(body: Json, headers: Record<string, string> = {}) {
  const res = await fetch(`${chatUrl}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...principal(), ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) as Json };
}

/** The `data:` payloads of an SSE body, in order. */
const sseData = (text: string) =>
  text
    .split("\n\n")
    .filter((block) => block.startsWith("data: "))
    .map((block) => block.slice(6));

const ask = (content: string, extra: Json = {}) => ({
  model: "deepseek-chat",
  messages: [{ role: "user", content }],
  ...extra,
});

test("a completion has the OpenAI shape and its usage; the repeat at temperature 0 is a cache hit, for its user only", async () => {
  const first = await complete(ask("Tell me about the garden", { temperature: 0 }));
  expect(first.status).toBe(200);
  expect(first.headers.get("x-cache")).toBe("MISS");
  const body = first.json();
  expect(body).toMatchObject({
    id: expect.stringMatching(/^chatcmpl-/),
    object: "chat.completion",
    model: "deepseek-chat",
    system_fingerprint: "fp_ngram-3:1",
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: expect.stringMatching(/^The garden /) },
        finish_reason: "stop",
      },
    ],
  });
  const { usage } = body;
  expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens);
  expect(usage.prompt_cache_hit_tokens).toBe(0);

  const again = await complete(ask("Tell me about the garden", { temperature: 0 }));
  expect(again.headers.get("x-cache")).toBe("HIT");
  expect(again.json().choices).toEqual(body.choices);
  expect(again.json().id).not.toBe(body.id);
  expect(again.json().usage.prompt_cache_hit_tokens).toBe(usage.prompt_tokens);
  // The entry is in Redis, under the service's prefix.
  expect((await redis.keys(`${prefix}:completion:*`)).length).toBe(1);

  // Another user asking the same learns nothing from the first one's entry.
  const other = await complete(
    ask("Tell me about the garden", { temperature: 0 }),
    principal("user-2"),
  );
  expect(other.status).toBe(200);
  expect(other.headers.get("x-cache")).toBe("MISS");
  expect((await redis.keys(`${prefix}:completion:*`)).length).toBe(2);

  // A different max_tokens is another question.
  const shorter = await complete(
    ask("Tell me about the garden", { temperature: 0, max_tokens: 2 }),
  );
  expect(shorter.headers.get("x-cache")).toBe("MISS");
  expect(shorter.json().choices[0].finish_reason).toBe("length");
  expect(shorter.json().usage.completion_tokens).toBe(2);
});

test("a stream sends chunks, a finish chunk, the usage chunk when asked, then [DONE]", async () => {
  const res = await complete(
    ask("Tell me about the moon", { stream: true, stream_options: { include_usage: true } }),
  );
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
  expect(res.headers.get("x-cache")).toBeNull();
  const data = sseData(res.text);
  expect(data.at(-1)).toBe("[DONE]");
  const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as Json);
  expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
  expect(chunks.every((c) => c.object === "chat.completion.chunk")).toBe(true);
  expect(chunks[0]!.choices[0].delta).toEqual({ role: "assistant", content: "" });
  const usageChunk = chunks.at(-1)!;
  expect(usageChunk.choices).toEqual([]);
  const finish = chunks.at(-2)!;
  expect(finish.choices[0]).toMatchObject({ delta: {}, finish_reason: expect.any(String) });
  const deltas = chunks.slice(1, -2);
  expect(deltas.length).toBeGreaterThan(2);
  expect(deltas.every((c) => c.usage === null)).toBe(true);
  const text = deltas.map((c) => c.choices[0].delta.content).join("");
  expect(text).toMatch(/^The moon /);
  expect(usageChunk.usage.completion_tokens).toBeGreaterThanOrEqual(deltas.length);
});

test("a conversation's history is stored and given to the model as context", async () => {
  upstream.set({ reply: "First answer." });
  const headers = { "x-conversation-id": "conv-1" };
  const one = await complete(
    { model: "remote-chat", messages: [{ role: "user", content: "Hello" }] },
    headers,
  );
  expect(one.status).toBe(200);
  expect(one.headers.get("x-conversation-id")).toBe("conv-1");
  upstream.set({ reply: "Second answer." });
  const two = await complete(
    {
      model: "remote-chat",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "And then?" },
      ],
    },
    headers,
  );
  expect(two.json().choices[0].message.content).toBe("Second answer.");
  expect(upstream.requests.at(-1)!.body["messages"]).toEqual([
    { role: "system", content: "Be brief." },
    { role: "user", content: "Hello" },
    { role: "assistant", content: "First answer." },
    { role: "user", content: "And then?" },
  ]);
  // Another user's conversation of the same id is their own.
  await complete(
    { model: "remote-chat", messages: [{ role: "user", content: "Hi" }] },
    { ...headers, ...principal("user-2") },
  );
  expect(upstream.requests.at(-1)!.body["messages"]).toEqual([{ role: "user", content: "Hi" }]);
  const stored = await db.query<{ role: string }>(
    "SELECT role FROM conversation_messages WHERE user_id = $1 AND conversation_id = $2 ORDER BY seq",
    ["user-1", "conv-1"],
  );
  expect(stored.map((r) => r.role)).toEqual(["user", "assistant", "user", "assistant"]);
});

test("a conversation of 10 000 stored messages: one bounded read, the newest that fit, then pruned", async () => {
  const conversation = `long-${Date.now()}`;
  await db.query(
    `INSERT INTO conversation_messages (user_id, conversation_id, seq, role, content, created_at)
     SELECT 'user-1', $1, g, CASE WHEN g % 2 = 1 THEN 'user' ELSE 'assistant' END,
       'message ' || g, '2026-01-01T00:00:00.000Z'
     FROM generate_series(1, 10000) AS g`,
    [conversation],
  );
  upstream.set({ reply: "Still here." });
  historyReads.length = 0;
  const res = await complete(
    { model: "remote-chat", messages: [{ role: "user", content: "And now?" }] },
    { "x-conversation-id": conversation },
  );
  expect(res.status).toBe(200);
  expect(res.json().choices[0].message.content).toBe("Still here.");
  expect(historyReads).toHaveLength(1);
  expect(historyReads[0]).toBeLessThanOrEqual(CONVERSATION_MAX_MESSAGES);
  // "message N" costs 4 tokens (role, two words, end mark): the newest 768 fill the budget.
  const fit = HISTORY_BUDGET_TOKENS / 4;
  const sent = upstream.requests.at(-1)!.body["messages"] as Json[];
  expect(sent).toHaveLength(fit + 1);
  expect(sent[0]).toEqual({ role: "user", content: `message ${10_000 - fit + 1}` });
  expect(sent.at(-2)).toEqual({ role: "assistant", content: "message 10000" });
  expect(sent.at(-1)).toEqual({ role: "user", content: "And now?" });

  const [kept] = await db.query<{ n: string; first: number; last: number }>(
    `SELECT COUNT(*) AS n, MIN(seq) AS first, MAX(seq) AS last FROM conversation_messages
     WHERE user_id = 'user-1' AND conversation_id = $1`,
    [conversation],
  );
  expect(Number(kept!.n)).toBe(CONVERSATION_MAX_MESSAGES);
  expect(Number(kept!.last)).toBe(10_002);

  // A request too long for the model on its own is refused before the history is read.
  historyReads.length = 0;
  const tooLong = await complete(ask("word ".repeat(5_000)), { "x-conversation-id": conversation });
  expect(tooLong.status).toBe(400);
  expect(tooLong.json().error.code).toBe("context_length_exceeded");
  expect(historyReads).toEqual([]);
});

test("each answer's usage reaches Kafka's business.usage topic through the outbox", async () => {
  const res = await complete(ask("What is a cache?", { temperature: 0.5 }));
  const requestId = res.headers.get("x-request-id")!;
  while ((await relayOnce(db, bus)) > 0);
  const values = await readTopic(requireEnv("TEST_KAFKA_BROKERS"), USAGE_TOPIC, (v) =>
    v.some((x) => x.includes(requestId)),
  );
  const event = values
    .map((v) => JSON.parse(v) as Json)
    .find((e) => e.data.requestId === requestId);
  expect(event).toMatchObject({
    type: "chat.usage",
    data: {
      userId: "user-1",
      keyId: "key_test",
      model: "deepseek-chat",
      modelVersion: "ngram-3:1",
      backend: "builtin",
      promptTokens: res.json().usage.prompt_tokens,
      completionTokens: res.json().usage.completion_tokens,
      cached: false,
      stream: false,
    },
  });
});

test("errors: 400 for a malformed body, 404 for an unknown model, 422 for a value out of range", async () => {
  const malformed = await complete({ model: "deepseek-chat" });
  expect(malformed.status).toBe(400);
  expect(malformed.json().error).toMatchObject({
    type: "invalid_request_error",
    param: "messages",
  });
  const unknown = await complete({ ...ask("hi"), model: "gpt-7" });
  expect(unknown.status).toBe(404);
  expect(unknown.json().error).toMatchObject({ code: "model_not_found", param: "model" });
  for (const [field, value] of [
    ["temperature", 3],
    ["top_p", 0],
    ["max_tokens", 0],
    ["n", 2],
  ] as const) {
    const res = await complete(ask("hi", { [field]: value }));
    expect([field, res.status, res.json().error.param]).toEqual([field, 422, field]);
  }
  const tooLong = await complete(ask("hi", { max_tokens: 5000 }));
  expect(tooLong.status).toBe(422);
  const noPrincipal = await fetch(`${chatUrl}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(ask("hi")),
  });
  expect(noPrincipal.status).toBe(401);
  expect(((await noPrincipal.json()) as Json).error).toMatchObject({
    type: "authentication_error",
    code: "invalid_api_key",
  });
});

test("a plan that lists its models: others are refused, before the cache; an alias of a listed one is not", async () => {
  const prompt = ask("which models may I use", { temperature: 0 });
  expect((await complete(prompt)).status).toBe(200); // now cached for this user
  const refused = await complete(prompt, principal("user-1", { models: ["some-other-model"] }));
  expect(refused.status).toBe(403);
  expect(refused.json().error).toMatchObject({
    type: "permission_error",
    code: "model_not_allowed",
    param: "model",
  });
  // deepseek-chat is an alias of the built-in model: listing the model allows the alias too.
  const viaAlias = await complete(
    prompt,
    principal("user-1", { models: [BUILTIN_MODEL, "other"] }),
  );
  expect(viaAlias.status).toBe(200);
  const byVersion = await complete(
    { ...prompt, model: `${BUILTIN_MODEL}:1` },
    principal("user-1", { models: [BUILTIN_MODEL] }),
  );
  expect(byVersion.status).toBe(200);
});

test("a stream decides before its first byte: a refusal is JSON, a break later an SSE error event", async () => {
  upstream.set({ status: 429 });
  const refused = await complete({ ...ask("hi", { stream: true }), model: "remote-chat" });
  expect(refused.status).toBe(429);
  expect(refused.headers.get("content-type")).toMatch(/^application\/json/);
  expect(refused.json().error.type).toBe("rate_limit_error");

  upstream.set({ reply: "one two three four five", failAfter: 3 });
  const broken = await complete({ ...ask("hi", { stream: true }), model: "remote-chat" });
  expect(broken.status).toBe(200);
  const data = sseData(broken.text);
  expect(data).not.toContain("[DONE]");
  const last = JSON.parse(data.at(-1)!) as Json;
  expect(last.error).toMatchObject({ type: "service_unavailable", code: "upstream_unavailable" });
  const deltas = data.slice(1, -1).map((d) => (JSON.parse(d) as Json).choices[0].delta.content);
  expect(deltas.join("")).toBe("one two three");
});

test("GET /v1/models lists the registry's aliases and versions", async () => {
  const res = await fetch(`${chatUrl}/v1/models`, { headers: principal() });
  const list = (await res.json()) as Json;
  expect(list.object).toBe("list");
  expect(list.data.map((m: Json) => m.id)).toEqual(
    expect.arrayContaining(["deepseek-chat", "deepseek-reasoner", "ngram-3:1", "remote-chat"]),
  );
  const one = await fetch(`${chatUrl}/v1/models/deepseek-chat`, { headers: principal() });
  expect(((await one.json()) as Json).id).toBe("deepseek-chat");
  expect((await fetch(`${chatUrl}/v1/models/nope`, { headers: principal() })).status).toBe(404);
  const page = await fetch(`${chatUrl}/v1/models?limit=2`, { headers: principal() });
  expect((await page.json()) as Json).toMatchObject({
    object: "list",
    data: [expect.any(Object), expect.any(Object)],
    has_more: true,
    first_id: list.data[0].id,
    last_id: list.data[1].id,
  });
  const bad = await fetch(`${chatUrl}/v1/models?limit=-1`, { headers: principal() });
  expect([bad.status, ((await bad.json()) as Json).error.param]).toEqual([400, "limit"]);
});

test("a selection is reused for its caller until its time is up, then asked again", async () => {
  const client = new ModelClient(modelSet, 300);
  const trace = "1".repeat(32);
  const span = "2".repeat(16);
  const ctx = {
    requestId: "r",
    traceId: trace,
    spanId: span,
    traceparent: `00-${trace}-${span}-01`,
  };
  const ask = (user: string) =>
    client.select(
      "moving",
      ctx,
      principalHeaders({ userId: user, keyId: "key_test", plan: "free" }),
    );
  await modelRegistry.setAlias("moving", BUILTIN_MODEL);
  const before = (await ask("user-1")).model;
  await modelRegistry.setAlias("moving", "upstream-remote-chat");
  // The registry moved the alias; the same caller is answered from what it was told.
  expect((await ask("user-1")).model).toEqual(before);
  // Another caller asks the registry itself.
  const moved = (await ask("user-2")).model;
  expect(moved).not.toEqual(before);
  await new Promise((r) => setTimeout(r, 350));
  expect((await ask("user-1")).model).toEqual(moved);
});
