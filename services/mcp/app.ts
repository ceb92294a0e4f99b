import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { Express } from "express";
import type { Catalog } from "../../platform/catalog/schema.ts";
import { ApiError, unauthorized } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import { principalFrom } from "../shared/principal.ts";
import { jsonBody } from "../shared/validation.ts";
import { forwardedChain, type Bridge } from "../api/bridge.ts";
import type { McpMetrics } from "./metrics.ts";
import { mcpServer } from "./server.ts";
import type { BridgedTool } from "../api/tools.ts";

export interface McpRoutesOptions {
  catalog: Catalog;
  tools: readonly BridgedTool[];
  bridge: Bridge;
  metrics: McpMetrics;
  logger: Logger;
  version: string;
}

/**
 * `POST /v1/mcp`: the Streamable HTTP transport of MCP, stateless. A message is answered as JSON,
 * or as server-sent events when it streams (a tool's progress). GET and DELETE belong to
 * sessions, which a stateless server does not keep: 405, as the transport's spec says (the SDK's
 * client takes a 405 to GET as "no server-initiated stream").
 */
export function mcpRoutes(app: Express, opts: McpRoutesOptions): void {
  app.post("/v1/mcp", ...jsonBody("1mb"), async (req, res) => {
    res.locals.route = "/v1/mcp";
    // The tier verified the key and signed who holds it; the key itself is what the bridge
    // presents to the tier of each tool's route.
    principalFrom(req.headers);
    const authorization = req.headers.authorization;
    if (!authorization) throw unauthorized("the gateway passed no API key to the bridge");
    const messages = Array.isArray(req.body) ? (req.body as unknown[]) : [req.body];
    for (const m of messages) {
      const method = (m as { method?: unknown } | null)?.method;
      opts.metrics.messages.inc({ method: typeof method === "string" ? method : "response" });
    }
    const server = mcpServer({
      catalog: opts.catalog,
      tools: opts.tools,
      bridge: opts.bridge,
      caller: {
        authorization,
        forwardedFor: forwardedChain(headerText(req.headers["x-forwarded-for"])),
      },
      ctx: res.locals.ctx,
      metrics: opts.metrics,
      logger: opts.logger,
      version: opts.version,
    });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on("close", () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });
  // Every other method (GET's event stream, DELETE's session end) belongs to sessions.
  app.use("/v1/mcp", () => {
    throw new ApiError(
      405,
      "invalid_request_error",
      "method_not_allowed",
      "this MCP server is stateless: send each message with POST /v1/mcp",
    );
  });
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(", ") : value;
}
