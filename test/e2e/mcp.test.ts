import { randomUUID } from "node:crypto";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { createDatabase } from "../servers/index.ts";
import { requireEnv } from "../support/kafka.ts";
import {
  newUsersKey,
  startTopology,
  type RunningTopology,
  TOPOLOGY_READY_MS,
} from "../support/localTopology.ts";

// The MCP SDK's own client, unchanged, against `npm start`'s topology on real PostgreSQL, Redis
// and Kafka: router -> business tier -> mcp, and each tool call on through the tier that owns
// its route, with the caller's key.

let topo: RunningTopology;
let databaseUrl: string;
const clients: Client[] = [];

beforeAll(async () => {
  databaseUrl = await createDatabase("e2e_mcp");
  topo = await startTopology({
    DATABASE_URL: databaseUrl,
    REDIS_URL: requireEnv("TEST_REDIS_URL"),
    KAFKA_BROKERS: requireEnv("TEST_KAFKA_BROKERS"),
    // The n-gram model answers: this test is about the bridge, not the language model.
    INFERENCE_LLM: "off",
  });
}, TOPOLOGY_READY_MS + 30_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  expect(await topo?.stop()).toBe(0);
});

async function connect(key: string): Promise<Client> {
  const client = new Client({ name: "e2e", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(`${topo.url}/v1/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${key}` } },
  });
  await client.connect(transport);
  clients.push(client);
  return client;
}

const structured = (r: unknown) => (r as CallToolResult).structuredContent as Record<string, never>;

test("lists every public operation as a tool, and the topology as a resource", async () => {
  const client = await connect(topo.apiKey);
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  for (const name of ["createOrder", "getOrder", "createChatCompletion", "listModels"])
    expect(names).toContain(name);
  // The endpoint itself and the multipart upload are no tools.
  expect(names).not.toContain("mcp");
  const createOrder = tools.find((t) => t.name === "createOrder")!;
  expect(createOrder.inputSchema.required).toEqual(["body"]);
  const { contents } = await client.readResource({ uri: "platform://catalog/topology" });
  const topology = JSON.parse((contents[0] as { text: string }).text) as {
    domains: { name: string }[];
  };
  expect(topology.domains.map((d) => d.name).sort()).toEqual(["business", "identity"]);
  const tiers = await client.readResource({ uri: "platform://status/tiers" });
  expect(JSON.parse((tiers.contents[0] as { text: string }).text)).toEqual({
    identity: { replicas: 2, healthy: expect.any(Number) },
    business: { replicas: 2, healthy: expect.any(Number) },
  });
});

test("a tool that writes acts as the key's owner, and another key does not see it", async () => {
  const client = await connect(topo.apiKey);
  const created = await client.callTool({
    name: "createOrder",
    arguments: {
      body: { item: "lamp", quantity: 2 },
      headers: { "Idempotency-Key": randomUUID() },
    },
  });
  expect(created.isError).toBeFalsy();
  const order = structured(created);
  expect(order).toMatchObject({ item: "lamp", quantity: 2 });
  // The same order over plain HTTP with the same key: the tool wrote it as that caller.
  const res = await fetch(`${topo.url}/v1/orders/${order["id"]}`, {
    headers: { authorization: `Bearer ${topo.apiKey}` },
  });
  expect(res.status).toBe(200);

  const other = await connect(await newUsersKey(topo.url, databaseUrl, "mcp@example.com"));
  const refused = (await other.callTool({
    name: "getOrder",
    arguments: { id: order["id"] },
  })) as CallToolResult;
  expect(refused.isError).toBe(true);
  expect(refused.content[0]).toMatchObject({ type: "text", text: expect.stringMatching(/^404 /) });
});

test("the API's refusal is a tool error with its message, and bad arguments are named", async () => {
  const client = await connect(topo.apiKey);
  const bad = (await client.callTool({
    name: "createOrder",
    arguments: { body: { item: "lamp", quantity: -1 } },
  })) as CallToolResult;
  expect(bad.isError).toBe(true);
  expect(bad.content[0]).toMatchObject({ text: expect.stringMatching(/^400 .*quantity/) });
  const missing = (await client.callTool({ name: "getOrder", arguments: {} })) as CallToolResult;
  expect(missing.content[0]).toMatchObject({
    text: 'getOrder: argument "id" is required (a string)',
  });
});

test("a chat completion streams as progress notifications, then the whole answer", async () => {
  const client = await connect(topo.apiKey);
  const progress: string[] = [];
  const result = await client.callTool(
    {
      name: "createChatCompletion",
      arguments: {
        body: {
          model: "deepseek-chat",
          messages: [{ role: "user", content: "Tell me about the sea" }],
          max_tokens: 16,
          stream_options: { include_usage: true },
        },
      },
    },
    undefined,
    { onprogress: (p) => progress.push(p.message ?? "") },
  );
  expect(result.isError).toBeFalsy();
  const answer = (result as CallToolResult).structuredContent as {
    content: string;
    usage?: { completion_tokens: number };
  };
  expect(progress.length).toBeGreaterThan(1);
  expect(progress.join("")).toBe(answer.content);
  expect(answer.usage?.completion_tokens).toBeGreaterThan(0);
});

test("docs/mcp.md's curl: one POST lists the tools, as server-sent events", async () => {
  const res = await fetch(`${topo.url}/v1/mcp`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${topo.apiKey}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
  });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
  expect(await res.text()).toContain('"name":"createOrder"');
});

test("without a key, the edge refuses the MCP endpoint as any other route", async () => {
  const res = await fetch(`${topo.url}/v1/mcp`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
  });
  expect(res.status).toBe(401);
  const get = await fetch(`${topo.url}/v1/mcp`, {
    headers: { authorization: `Bearer ${topo.apiKey}` },
  });
  expect(get.status).toBe(405);
});

test("a workflow made and started over MCP runs its steps through the tiers as the key's owner", async () => {
  const client = await connect(topo.apiKey);
  const created = await client.callTool({
    name: "createWorkflow",
    arguments: {
      body: {
        name: "order and read back",
        inputs: { item: { type: "string" } },
        steps: [
          {
            name: "place",
            call: "createOrder",
            args: { body: { item: "{{ input.item }}", quantity: 1 } },
          },
          { name: "read", call: "getOrder", args: { id: "{{ steps.place.output.id }}" } },
          {
            name: "same_item",
            assert: [{ value: "{{ steps.read.output.item }}", op: "eq", than: "{{ input.item }}" }],
          },
        ],
      },
    },
  });
  expect(created.isError).toBeFalsy();
  const started = await client.callTool({
    name: "startWorkflowRun",
    arguments: { id: structured(created)["id"], body: { input: { item: "kettle" } } },
  });
  expect(started.isError).toBeFalsy();
  const runId = structured(started)["id"] as string;
  // Plain HTTP, as a user would follow it.
  const read = (key: string) =>
    fetch(`${topo.url}/v1/workflow-runs/${runId}`, { headers: { authorization: `Bearer ${key}` } });
  let run: { status: string; steps: { status: string; output: { id?: string } }[] };
  const deadline = Date.now() + 30_000;
  do {
    await new Promise((ok) => setTimeout(ok, 250));
    run = (await (await read(topo.apiKey)).json()) as typeof run;
  } while (run.status === "running" && Date.now() < deadline);
  expect([run.status, run.steps.map((s) => s.status)]).toEqual([
    "succeeded",
    ["succeeded", "succeeded", "succeeded"],
  ]);
  // The order is the key owner's: the step placed it with the caller's key.
  const order = await fetch(`${topo.url}/v1/orders/${run.steps[0]!.output.id}`, {
    headers: { authorization: `Bearer ${topo.apiKey}` },
  });
  expect(order.status).toBe(200);
  const other = await newUsersKey(topo.url, databaseUrl, "workflows@example.com");
  expect((await read(other)).status).toBe(404);
});
