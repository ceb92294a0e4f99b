import { execFile } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import OpenAI, { type APIError } from "openai";
import { createDatabase } from "../servers/index.ts";
import { readTopic, requireEnv } from "../support/kafka.ts";
import {
  ROOT,
  startTopology,
  type RunningTopology,
  TOPOLOGY_READY_MS,
} from "../support/localTopology.ts";

// The official `openai` client, unchanged, against `npm start`'s topology on real PostgreSQL,
// Redis and Kafka: router -> business gateway (quota checked in the identity domain) -> chat ->
// model and inference, and the usage on to quota and billing. Only its base URL and key are set,
// as a user of DeepSeek's API sets them.

let topo: RunningTopology;
let client: OpenAI;
let databaseUrl: string;

beforeAll(async () => {
  databaseUrl = await createDatabase("e2e_openai");
  topo = await startTopology({
    DATABASE_URL: databaseUrl,
    REDIS_URL: requireEnv("TEST_REDIS_URL"),
    KAFKA_BROKERS: requireEnv("TEST_KAFKA_BROKERS"),
    INFERENCE_LLM: "on",
  });
  client = new OpenAI({ baseURL: `${topo.url}/v1`, apiKey: topo.apiKey });
}, TOPOLOGY_READY_MS + 30_000);

afterAll(async () => {
  expect(await topo?.stop()).toBe(0);
});

/** The chat replicas' "chat flow" log lines. */
function flowLines(): Array<{ requestId: string; steps: { step: string; detail: string }[] }> {
  return readdirSync(topo.logDir)
    .filter((f) => /^chat-\d+\.log$/.test(f))
    .flatMap((f) => readFileSync(join(topo.logDir, f), "utf8").trim().split("\n"))
    .flatMap((line) => {
      // The last line may be half written while the test reads it.
      try {
        return [JSON.parse(line) as { msg: string; requestId: string; steps: never }];
      } catch {
        return [];
      }
    })
    .filter((l) => l.msg === "chat flow");
}

test("a completion, its usage, and every step of the flow in the request's log line", async () => {
  const { data, response } = await client.chat.completions
    .create({
      model: "deepseek-chat",
      messages: [
        { role: "system", content: "You are a helpful assistant." },
        { role: "user", content: "Tell me about the river" },
      ],
      temperature: 0.7,
      seed: 11,
      max_tokens: 32,
    })
    .withResponse();
  expect(data.object).toBe("chat.completion");
  expect(data.model).toBe("deepseek-chat");
  expect(data.choices[0]!.message.role).toBe("assistant");
  // DeepSeek's name selects the language model (SmolLM2 in llama.cpp) of every inference replica.
  expect(data.system_fingerprint).toBe("fp_smollm2-135m:1");
  expect(data.choices[0]!.message.content).toMatch(/\w+ \w+/);
  expect(data.usage!.total_tokens).toBe(data.usage!.prompt_tokens + data.usage!.completion_tokens);

  const requestId = response.headers.get("x-request-id")!;
  // Logs are written asynchronously: the line may land just after the answer.
  let flow = flowLines().find((l) => l.requestId === requestId);
  for (let i = 0; !flow && i < 50; i++) {
    await new Promise((ok) => setTimeout(ok, 100));
    flow = flowLines().find((l) => l.requestId === requestId);
  }
  // The quota step ran at the gateway before chat (docs/quota-flow.md); the model comes before
  // the context, so that a request too long for it is refused before any history is read.
  expect(flow?.steps.map((s) => s.step)).toEqual([
    "cache",
    "model",
    "context",
    "inference",
    "usage",
  ]);

  // The usage event reaches the business domain's Kafka through chat's outbox.
  const values = await readTopic(requireEnv("TEST_KAFKA_BROKERS"), "business.usage", (v) =>
    v.some((x) => x.includes(requestId)),
  );
  const event = values
    .map((v) => JSON.parse(v) as { data: { requestId: string; totalTokens: number } })
    .find((e) => e.data.requestId === requestId);
  expect(event?.data.totalTokens).toBe(data.usage!.total_tokens);
});

test("a streamed completion, with the usage chunk last", async () => {
  const stream = await client.chat.completions.create({
    model: "deepseek-chat",
    messages: [{ role: "user", content: "What does a gateway do?" }],
    max_tokens: 32,
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = "";
  let finish: string | null = null;
  let usage: OpenAI.CompletionUsage | null | undefined;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    text += chunk.choices[0]?.delta.content ?? "";
    finish = chunk.choices[0]?.finish_reason ?? finish;
    if (chunk.usage) usage = chunk.usage;
  }
  expect(chunks).toBeGreaterThan(4);
  expect(text).toMatch(/\w+ \w+/);
  expect(finish).toMatch(/^(stop|length)$/);
  expect(usage!.completion_tokens).toBeGreaterThan(0);
  expect(usage!.total_tokens).toBe(usage!.prompt_tokens + usage!.completion_tokens);
});

test("a repeated temperature-0 request is answered from the cache", async () => {
  const ask = () =>
    client.chat.completions
      .create({
        model: "deepseek-chat",
        messages: [{ role: "user", content: "How is bread made?" }],
        temperature: 0,
        max_tokens: 24,
      })
      .withResponse();
  const first = await ask();
  const second = await ask();
  expect(first.response.headers.get("x-cache")).toBe("MISS");
  // Redis is shared by the chat replicas, so the hit does not depend on which one answers.
  expect(second.response.headers.get("x-cache")).toBe("HIT");
  expect(second.data.choices[0]!.message.content).toBe(first.data.choices[0]!.message.content);
});

test("models.list() lists DeepSeek's names and the registry's versions", async () => {
  const ids: string[] = [];
  for await (const model of client.models.list()) ids.push(model.id);
  expect(ids).toEqual(expect.arrayContaining(["deepseek-chat", "deepseek-reasoner", "ngram-3:1"]));
});

test("a bad key is an AuthenticationError (401)", async () => {
  const stranger = new OpenAI({
    baseURL: `${topo.url}/v1`,
    apiKey: "sk-not-a-key-of-this-platform-0000",
  });
  const err = await stranger.models.list().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
  expect((err as APIError).status).toBe(401);
});

test("a malformed request is a BadRequestError (400); a value out of range a 422", async () => {
  const malformed = await client.chat.completions
    .create({ model: "deepseek-chat", messages: [] })
    .catch((e: unknown) => e);
  expect(malformed).toBeInstanceOf(OpenAI.BadRequestError);
  expect((malformed as APIError).param).toBe("messages");

  const outOfRange = await client.chat.completions
    .create({ model: "deepseek-chat", messages: [{ role: "user", content: "hi" }], temperature: 7 })
    .catch((e: unknown) => e);
  expect(outOfRange).toBeInstanceOf(OpenAI.UnprocessableEntityError);
  expect((outOfRange as APIError).param).toBe("temperature");

  const unknownModel = await client.chat.completions
    .create({ model: "gpt-9", messages: [{ role: "user", content: "hi" }] })
    .catch((e: unknown) => e);
  expect(unknownModel).toBeInstanceOf(OpenAI.NotFoundError);
  expect((unknownModel as APIError).code).toBe("model_not_found");
});

/** A call to the platform's own API with `key`, as JSON. */
async function api(key: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${topo.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the assertions check the shape
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** A user on a plan of its own, made with an admin key as an operator makes them; its API key. */
async function userOnPlan(admin: string, name: string, plan: object): Promise<string> {
  expect((await api(admin, "PUT", `/v1/users/plans/${name}`, plan)).status).toBe(201);
  const user = await api(admin, "POST", "/v1/users", {
    email: `${name}@example.com`,
    name,
    plan: name,
  });
  expect(user.status).toBe(201);
  const key = await api(admin, "POST", "/v1/auth/keys", { name, userId: user.body["id"] });
  expect(key.status).toBe(201);
  return key.body["key"] as string;
}

/** An admin key, made once with the bootstrap command as an operator makes the first one. */
let adminKey: Promise<string> | undefined;
function admin(): Promise<string> {
  adminKey ??= promisify(execFile)(
    process.execPath,
    [join(ROOT, "services/auth/createAdminKey.ts")],
    { cwd: ROOT, env: { ...process.env, DATABASE_URL: databaseUrl, NODE_OPTIONS: "" } },
  ).then(({ stdout }) => (JSON.parse(stdout) as { key: string }).key);
  return adminKey;
}

test("an exhausted quota: RateLimitError (429) once the requests are spent, 402 once the tokens are", async () => {
  const adminKey = await admin();
  const ask = (key: string) =>
    new OpenAI({ baseURL: `${topo.url}/v1`, apiKey: key }).chat.completions.create({
      model: "deepseek-chat",
      messages: [{ role: "user", content: "Tell me about the sea" }],
      max_tokens: 8,
    });

  const oneRequest = await userOnPlan(adminKey, "e2e-one-request", {
    requestsPerDay: 1,
    tokensPerDay: 1_000_000,
  });
  expect((await ask(oneRequest)).object).toBe("chat.completion");
  const spent = await ask(oneRequest).catch((e: unknown) => e);
  expect(spent).toBeInstanceOf(OpenAI.RateLimitError);
  expect((spent as APIError).code).toBe("quota_exceeded");
  expect(Number((spent as APIError).headers?.get("retry-after"))).toBeGreaterThan(0);

  // The first answer's tokens reach quota from chat, through the identity tier, after it.
  const fewTokens = await userOnPlan(adminKey, "e2e-few-tokens", {
    requestsPerDay: 100,
    tokensPerDay: 1,
  });
  expect((await ask(fewTokens)).object).toBe("chat.completion");
  let tokensLeft = 1;
  for (let i = 0; i < 100 && tokensLeft > 0; i++) {
    await new Promise((ok) => setTimeout(ok, 100));
    tokensLeft = (await api(fewTokens, "GET", "/v1/quota")).body["tokens"].remaining as number;
  }
  expect(tokensLeft).toBe(0);
  const broke = await ask(fewTokens).catch((e: unknown) => e);
  expect(broke).toBeInstanceOf(OpenAI.APIError);
  expect((broke as APIError).status).toBe(402);
  expect((broke as APIError).code).toBe("insufficient_balance");
});

test("a completion's tokens are billed: chat -> quota through the identity tier -> identity.usage -> billing", async () => {
  const key = await userOnPlan(await admin(), "e2e-billed", {
    requestsPerDay: 100,
    tokensPerDay: 1_000_000,
  });
  const answer = await new OpenAI({
    baseURL: `${topo.url}/v1`,
    apiKey: key,
  }).chat.completions.create({
    model: "deepseek-chat",
    messages: [{ role: "user", content: "Tell me about the harbour" }],
    max_tokens: 12,
  });
  const day = new Date().toISOString().slice(0, 10);
  let total: Record<string, number> = {};
  // Four asynchronous hops (chat's deliverer, quota's outbox relay, Kafka, billing's consumer):
  // wait for the result, up to a minute on a loaded machine, rather than for a time.
  for (let i = 0; i < 600 && total["requests"] !== 1; i++) {
    await new Promise((ok) => setTimeout(ok, 100));
    total = (await api(key, "GET", `/v1/billing/usage?period=${day}`)).body["total"];
  }
  expect(total).toMatchObject({
    requests: 1,
    promptTokens: answer.usage!.prompt_tokens,
    completionTokens: answer.usage!.completion_tokens,
  });
  expect(Number(total["cost"])).toBeGreaterThan(0);
}, 90_000);
