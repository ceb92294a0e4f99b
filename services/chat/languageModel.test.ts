import OpenAI from "openai";
import { createDatabase } from "../../test/servers/index.ts";
import {
  TEST_PRINCIPAL_SECRET,
  principal,
  serveApp,
  type ServedApp,
} from "../../test/support/serviceApp.ts";
import { startServiceProcess, type ServiceProcess } from "../../test/support/serviceProcess.ts";
import { modelRoutes } from "../model/app.ts";
import { LANGUAGE_MODEL, migrations as modelMigrations, modelStore } from "../model/store.ts";
import { memoryCache } from "../shared/cache.ts";
import { openDb, type Db } from "../shared/sql/db.ts";
import { migrate } from "../shared/sql/migrate.ts";
import { ReplicaSet } from "../shared/upstream.ts";
import { chatRoutes } from "./app.ts";
import { InferenceClient, ModelClient } from "./clients.ts";
import { chatStore, migrations } from "./store.ts";

// The official `openai` client against the chat service with the real language model behind it
// (the inference service's own process running SmolLM2 in llama.cpp): streaming, JSON mode and
// tool calls as the client's users write them. DeepSeek's name selects the language model.

process.env["LOG_LEVEL"] ??= "silent";

let db: Db;
let modelDb: Db;
let inference: ServiceProcess;
const served: ServedApp[] = [];
const sets: ReplicaSet[] = [];
let client: OpenAI;

beforeAll(async () => {
  inference = await startServiceProcess("inference", "business", { DRAIN_DELAY_MS: "0" });
  const url = await createDatabase("chatllmtest");
  db = await openDb({ service: "chat", domain: "business", databaseUrl: url, dataDir: "" });
  modelDb = await openDb({ service: "model", domain: "business", databaseUrl: url, dataDir: "" });
  await migrate(db, "chat", migrations);
  await migrate(modelDb, "model", modelMigrations);
  const models = modelStore(modelDb);
  await models.seed([]);
  const modelApp = await serveApp("model", (app) => modelRoutes(app, models));
  served.push(modelApp);
  // Signed as the chat service signs its calls (an unsigned /internal call is a 401).
  const signWith = TEST_PRINCIPAL_SECRET;
  const modelSet = new ReplicaSet("model", [modelApp.url], { signWith });
  const inferenceSet = new ReplicaSet("inference", [inference.url], { signWith });
  sets.push(modelSet, inferenceSet);
  const chat = await serveApp("chat", (app, logger) =>
    chatRoutes(app, {
      store: chatStore(db),
      cache: memoryCache(),
      models: new ModelClient(modelSet),
      inference: new InferenceClient(inferenceSet),
      logger,
    }),
  );
  served.push(chat);
  client = new OpenAI({
    apiKey: "sk-unused-the-gateway-checks-keys",
    baseURL: `${chat.url}/v1`,
    maxRetries: 0,
    // What a gateway adds to each request it let through: a principal signed for that request.
    fetch: (input, init) => {
      const headers = new Headers(init?.headers);
      for (const [k, v] of Object.entries(principal())) headers.set(k, v);
      return fetch(input, { ...init, headers });
    },
  });
}, 180_000);

afterAll(async () => {
  await Promise.all(served.map((s) => s.close()));
  await Promise.all(sets.map((s) => s.close()));
  await Promise.all([db?.close(), modelDb?.close()]);
  await inference?.stop();
});

const fingerprint = `fp_${LANGUAGE_MODEL.name}:1`;

test("a whole answer from the language model, deterministic at temperature 0", async () => {
  const ask = () =>
    client.chat.completions.create({
      model: "deepseek-chat",
      messages: [{ role: "user", content: "Tell me about the sea" }],
      temperature: 0,
      max_tokens: 20,
    });
  const first = await ask();
  expect(first.system_fingerprint).toBe(fingerprint);
  expect(first.choices[0]!.message.content).toMatch(/sea/i);
  expect(first.choices[0]!.finish_reason).toBe("length");
  expect(first.usage?.completion_tokens).toBe(20);
  expect((await ask()).choices[0]!.message.content).toBe(first.choices[0]!.message.content);
});

test("streamed tokens as generated, then the usage chunk", async () => {
  const stream = await client.chat.completions.create({
    model: "deepseek-chat",
    messages: [{ role: "user", content: "Write one sentence about bread." }],
    temperature: 0,
    max_tokens: 16,
    stream: true,
    stream_options: { include_usage: true },
  });
  const deltas: string[] = [];
  let usage: OpenAI.CompletionUsage | null | undefined;
  for await (const chunk of stream) {
    expect(chunk.system_fingerprint).toBe(fingerprint);
    const content = chunk.choices[0]?.delta.content;
    if (content) deltas.push(content);
    if (chunk.usage) usage = chunk.usage;
  }
  expect(deltas.length).toBeGreaterThan(3);
  expect(usage?.completion_tokens).toBe(16);
});

test("JSON mode with a schema: the content parses", async () => {
  const res = await client.chat.completions.create({
    model: "deepseek-chat",
    messages: [{ role: "user", content: "Name a fruit and its colour, as JSON." }],
    temperature: 0,
    max_tokens: 60,
    response_format: {
      type: "json_schema",
      json_schema: {
        name: "fruit",
        schema: {
          type: "object",
          properties: { fruit: { type: "string" }, colour: { type: "string" } },
          required: ["fruit", "colour"],
        },
      },
    },
  });
  const parsed = JSON.parse(res.choices[0]!.message.content!) as Record<string, unknown>;
  expect(typeof parsed["fruit"]).toBe("string");
  expect(typeof parsed["colour"]).toBe("string");
});

const weatherTool: OpenAI.ChatCompletionTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "The current weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};

test("tools: the call whole, and in streamed deltas the client assembles", async () => {
  const messages: OpenAI.ChatCompletionMessageParam[] = [
    { role: "user", content: "What is the weather in Paris?" },
  ];
  const res = await client.chat.completions.create({
    model: "deepseek-chat",
    messages,
    tools: [weatherTool],
    tool_choice: "required",
    temperature: 0,
    max_tokens: 40,
  });
  const choice = res.choices[0]!;
  expect(choice.finish_reason).toBe("tool_calls");
  const call = choice.message.tool_calls![0]!;
  expect(call.type).toBe("function");
  if (call.type !== "function") return;
  expect(call.function.name).toBe("get_weather");
  expect(typeof (JSON.parse(call.function.arguments) as { city: unknown }).city).toBe("string");

  const runner = client.chat.completions.stream({
    model: "deepseek-chat",
    messages,
    tools: [weatherTool],
    tool_choice: { type: "function", function: { name: "get_weather" } },
    temperature: 0,
    max_tokens: 40,
  });
  const final = await runner.finalChatCompletion();
  expect(final.choices[0]!.message.tool_calls?.[0]).toMatchObject({
    function: { name: "get_weather" },
  });

  // The tool's answer goes back; the model puts it in words.
  const answer = await client.chat.completions.create({
    model: "deepseek-chat",
    messages: [
      ...messages,
      choice.message,
      { role: "tool", tool_call_id: call.id, content: '{"sky":"sunny","celsius":21}' },
    ],
    tools: [weatherTool],
    temperature: 0,
    max_tokens: 30,
  });
  expect(answer.choices[0]!.finish_reason).not.toBe("tool_calls");
  expect(answer.choices[0]!.message.content!.length).toBeGreaterThan(0);
});

test("a tool message without tool_call_id is a 422 naming it", async () => {
  await expect(
    client.chat.completions.create({
      model: "deepseek-chat",
      messages: [{ role: "tool", content: "x" } as unknown as OpenAI.ChatCompletionMessageParam],
    }),
  ).rejects.toMatchObject({ status: 422, param: "messages[0].tool_call_id" });
});
