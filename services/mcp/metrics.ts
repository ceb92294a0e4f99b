import { Counter } from "prom-client";
import type { Metrics } from "../shared/metrics.ts";

/** The bridge's own figures on /metrics, beside every program's request metrics. */
export function mcpMetrics(metrics: Metrics) {
  return {
    messages: new Counter({
      name: "mcp_messages_total",
      help: "MCP messages received over Streamable HTTP, by JSON-RPC method",
      labelNames: ["method"] as const,
      registers: [metrics.registry],
    }),
    toolCalls: new Counter({
      name: "mcp_tool_calls_total",
      help: "MCP tool calls, by tool and outcome (ok, refused by the API, invalid, failed)",
      labelNames: ["tool", "outcome"] as const,
      registers: [metrics.registry],
    }),
  };
}

export type McpMetrics = ReturnType<typeof mcpMetrics>;
