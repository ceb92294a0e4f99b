import { z } from "zod";
import type { Operation } from "../shared/operation.ts";

// The API bridge: every public operation the services publish (services/api/registry.ts, the
// source of the OpenAPI document too) as one MCP tool, named by its operationId and described by
// its summary, whose arguments are the operation's own schemas. A route added to a service's
// api.ts is a tool here with nothing written for it.

/** A tool's arguments, as the MCP client sends them. */
export interface ToolArguments {
  /** Path parameters, by the name the route gives them (`id` of `/v1/orders/:id`). */
  [param: string]: unknown;
  query?: Record<string, unknown>;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface BridgedTool {
  name: string;
  description: string;
  /** JSON Schema of the arguments (an object), as MCP's `tools/list` gives it. */
  inputSchema: { type: "object"; properties: Record<string, object>; required?: string[] };
  operation: Operation;
}

/** The HTTP request one tool call stands for. */
export interface BridgedRequest {
  method: string;
  /** Path and query, e.g. `/v1/orders?limit=10`. */
  path: string;
  headers: Record<string, string>;
  body?: unknown;
}

/**
 * JSON Schema of what a schema accepts (its input side: a coerced or defaulted field takes what
 * the service parses). A check JSON Schema cannot say is left out, and the service still makes it.
 */
function jsonSchema(schema: z.ZodType): object {
  const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Record<
    string,
    unknown
  >;
  // MCP gives each tool's schema inline: the dialect is the protocol's, not the tool's to say.
  delete json["$schema"];
  return json;
}

/** Multipart uploads carry files, which MCP tool arguments (JSON) do not: those stay HTTP only. */
export const bridgeable = (op: Operation): boolean => !(op.body && "multipart" in op.body);

/** A tool per operation of every service but `bridge` (the MCP endpoint is no tool of itself). */
export function bridgedTools(
  published: Record<string, readonly Operation[]>,
  bridge: string,
): BridgedTool[] {
  const tools: BridgedTool[] = [];
  for (const [service, ops] of Object.entries(published)) {
    if (service === bridge) continue;
    for (const op of ops.filter(bridgeable)) {
      const properties: Record<string, object> = {};
      const required: string[] = [];
      for (const [name, schema] of Object.entries(op.params ?? {})) {
        properties[name] = jsonSchema(schema);
        required.push(name);
      }
      if (op.query) properties["query"] = jsonSchema(op.query);
      if (op.headers) properties["headers"] = jsonSchema(z.object(op.headers));
      if (op.body && "json" in op.body) {
        properties["body"] = jsonSchema(op.body.json);
        required.push("body");
      }
      tools.push({
        name: op.id,
        description: `${op.summary} (${op.method.toUpperCase()} ${op.path}, ${service})${
          op.streams ? "; with a progress token, the answer streams as progress notifications" : ""
        }`,
        inputSchema: { type: "object", properties, ...(required.length ? { required } : {}) },
        operation: op,
      });
    }
  }
  return tools;
}

/** Why a call's arguments cannot make a request, naming the argument; undefined when they can. */
export function argumentProblem(tool: BridgedTool, args: ToolArguments): string | undefined {
  for (const name of Object.keys(tool.operation.params ?? {})) {
    const value = args[name];
    if (typeof value !== "string" && typeof value !== "number")
      return `${tool.name}: argument "${name}" is required (a string)`;
  }
  if (args.query !== undefined && !isRecord(args.query))
    return `${tool.name}: argument "query" must be an object`;
  if (args.headers !== undefined && !isRecord(args.headers))
    return `${tool.name}: argument "headers" must be an object`;
  if (tool.operation.body && args.body === undefined)
    return `${tool.name}: argument "body" is required`;
  return undefined;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** The request a call stands for; the arguments must have passed `argumentProblem`. */
export function requestOf(tool: BridgedTool, args: ToolArguments): BridgedRequest {
  const op = tool.operation;
  const path = op.path.replace(/:(\w+)/g, (_, name: string) =>
    encodeURIComponent(String(args[name])),
  );
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(args.query ?? {})) {
    if (value === undefined || value === null) continue;
    for (const one of Array.isArray(value) ? value : [value]) query.append(key, String(one));
  }
  const search = query.size > 0 ? `?${query}` : "";
  const headers: Record<string, string> = {};
  for (const name of Object.keys(op.headers ?? {})) {
    const value = args.headers?.[name] ?? args.headers?.[name.toLowerCase()];
    if (value !== undefined) headers[name.toLowerCase()] = String(value);
  }
  return {
    method: op.method.toUpperCase(),
    path: `${path}${search}`,
    headers,
    ...(op.body ? { body: args.body } : {}),
  };
}
