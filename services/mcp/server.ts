import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
  CallToolRequestSchema,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  type CallToolResult,
} from "@modelcontextprotocol/sdk/types.js";
import { McpError, ErrorCode } from "@modelcontextprotocol/sdk/types.js";
import type { Catalog } from "../../platform/catalog/schema.ts";
import { domains, services } from "../../platform/catalog/topology.ts";
import { ApiError } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import type { RequestContext } from "../shared/trace.ts";
import type { Bridge, Caller } from "../api/bridge.ts";
import type { McpMetrics } from "./metrics.ts";
import { argumentProblem, requestOf, type BridgedTool, type ToolArguments } from "../api/tools.ts";

// One MCP server per HTTP request (the Streamable HTTP transport's stateless mode): any replica
// answers any message, so the bridge scales and fails over as every other service does, and a
// server holds nothing of one caller when the next one comes.

export interface ServerContext {
  catalog: Catalog;
  tools: readonly BridgedTool[];
  bridge: Bridge;
  caller: Caller;
  ctx: RequestContext;
  metrics: McpMetrics;
  logger: Logger;
  version: string;
}

const TOPOLOGY_URI = "platform://catalog/topology";
const TIERS_URI = "platform://status/tiers";

/** The catalog as a caller may see it: domains, their routes and services, no sizes. */
export function topologyOf(catalog: Catalog) {
  return {
    name: catalog.name,
    domains: domains(catalog).map((d) => ({
      name: d.name,
      services: services(catalog)
        .filter((s) => s.domain === d.name)
        .map((s) => ({
          name: s.name,
          routes: s.routes,
          versions: s.versions.map((v) => ({ name: v.name, weight: v.weight })),
        })),
    })),
  };
}

export function mcpServer(c: ServerContext): Server {
  const server = new Server(
    { name: `${c.catalog.name}-platform`, version: c.version },
    {
      capabilities: { tools: {}, resources: {} },
      instructions:
        "Each tool is one operation of the platform's public API, called with your own API key: the same limits, quotas and data as over HTTP.",
    },
  );
  const byName = new Map(c.tools.map((t) => [t.name, t]));

  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: c.tools.map((t) => ({
      name: t.name,
      description: t.description,
      inputSchema: t.inputSchema,
    })),
  }));

  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const tool = byName.get(request.params.name);
    if (!tool) throw new McpError(ErrorCode.InvalidParams, `unknown tool "${request.params.name}"`);
    const args = (request.params.arguments ?? {}) as ToolArguments;
    const problem = argumentProblem(tool, args);
    if (problem) {
      c.metrics.toolCalls.inc({ tool: tool.name, outcome: "invalid" });
      return toolError(problem);
    }
    const progressToken = request.params._meta?.progressToken;
    const streams = tool.operation.streams === true && progressToken !== undefined;
    const req = requestOf(tool, args);
    if (streams) req.body = { ...(req.body as object), stream: true };
    try {
      const res = await c.bridge.send(req, c.caller, c.ctx, extra.signal);
      const type = String(res.headers["content-type"] ?? "");
      let result: CallToolResult;
      if (res.statusCode >= 400) {
        result = toolError(apiMessage(res.statusCode, await res.body.text()));
      } else if (streams && type.startsWith("text/event-stream")) {
        result = await relayStream(res.body, async (text, count) => {
          await extra.sendNotification({
            method: "notifications/progress",
            params: { progressToken, progress: count, message: text },
          });
        });
      } else {
        result = await answer(res.statusCode, type, res.body);
      }
      c.metrics.toolCalls.inc({ tool: tool.name, outcome: result.isError ? "refused" : "ok" });
      return result;
    } catch (err) {
      c.metrics.toolCalls.inc({ tool: tool.name, outcome: "failed" });
      if (err instanceof ApiError) return toolError(`${err.status} ${err.code}: ${err.message}`);
      // Answered as a JSON-RPC error by the SDK; the operator needs the cause.
      c.logger.warn({ err, tool: tool.name, requestId: c.ctx.requestId }, "tool call failed");
      throw err;
    }
  });

  server.setRequestHandler(ListResourcesRequestSchema, () => ({
    resources: [
      {
        uri: TOPOLOGY_URI,
        name: "topology",
        title: "The platform's domains, services, routes and versions",
        mimeType: "application/json",
      },
      {
        uri: TIERS_URI,
        name: "tiers",
        title: "Each gateway tier's replicas, and how many pass their health checks now",
        mimeType: "application/json",
      },
    ],
  }));

  server.setRequestHandler(ReadResourceRequestSchema, (request) => {
    const { uri } = request.params;
    const value =
      uri === TOPOLOGY_URI
        ? topologyOf(c.catalog)
        : uri === TIERS_URI
          ? c.bridge.status()
          : undefined;
    if (value === undefined)
      throw new McpError(ErrorCode.InvalidParams, `unknown resource "${uri}"`);
    return { contents: [{ uri, mimeType: "application/json", text: JSON.stringify(value) }] };
  });

  return server;
}

function toolError(message: string): CallToolResult {
  return { isError: true, content: [{ type: "text", text: message }] };
}

/** The API's own error, as `<status> <code>: <message>`. */
function apiMessage(status: number, text: string): string {
  try {
    const { error } = JSON.parse(text) as { error: { code: string; message: string } };
    return `${status} ${error.code}: ${error.message}`;
  } catch {
    return `${status}: ${text.slice(0, 500)}`;
  }
}

async function answer(
  status: number,
  type: string,
  body: { text(): Promise<string> },
): Promise<CallToolResult> {
  const text = await body.text();
  if (status === 204 || text === "") return { content: [{ type: "text", text: `${status}` }] };
  if (!type.includes("json")) return { content: [{ type: "text", text }] };
  const value = JSON.parse(text) as unknown;
  return {
    content: [{ type: "text", text }],
    // An object answer is also given as structured content, which clients can read as is.
    ...(value && typeof value === "object" && !Array.isArray(value)
      ? { structuredContent: value as Record<string, unknown> }
      : {}),
  };
}

/**
 * A chat completion's server-sent events as progress notifications, one per delta, then the
 * whole answer as the result: the text, the finish reason and the usage when the stream sent it.
 */
async function relayStream(
  body: AsyncIterable<Buffer>,
  progress: (text: string, count: number) => Promise<void>,
): Promise<CallToolResult> {
  let pending = "";
  let text = "";
  let count = 0;
  let last: Record<string, unknown> = {};
  for await (const chunk of body) {
    pending += chunk.toString("utf8");
    let end: number;
    while ((end = pending.indexOf("\n\n")) >= 0) {
      const event = pending.slice(0, end);
      pending = pending.slice(end + 2);
      for (const line of event.split("\n")) {
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") continue;
        const parsed = JSON.parse(data) as {
          error?: { code: string; message: string };
          choices?: { delta?: { content?: string }; finish_reason?: string | null }[];
        };
        if (parsed.error)
          return toolError(`stream broke: ${parsed.error.code}: ${parsed.error.message}`);
        const delta = parsed.choices?.[0]?.delta?.content;
        if (delta) {
          text += delta;
          await progress(delta, ++count);
        }
        last = { ...last, ...parsed };
      }
    }
  }
  const finish = (last["choices"] as { finish_reason?: string | null }[] | undefined)?.[0]
    ?.finish_reason;
  const result = {
    id: last["id"],
    model: last["model"],
    content: text,
    finish_reason: finish ?? null,
    ...(last["usage"] ? { usage: last["usage"] } : {}),
  };
  return {
    content: [{ type: "text", text }],
    structuredContent: result,
  };
}
