import { z } from "zod";
import { operations } from "../shared/operation.ts";

/** A JSON-RPC 2.0 message of MCP; the SDK's transport checks the rest. */
const mcpMessage = z.looseObject({ jsonrpc: z.literal("2.0") });

export const mcpApi = operations([
  {
    id: "mcp",
    method: "post",
    path: "/v1/mcp",
    summary:
      "The platform as an MCP server (Streamable HTTP, stateless): every operation of this API as a tool",
    body: { json: mcpMessage },
    streams: true,
  },
]);
