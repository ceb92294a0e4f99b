import type { z } from "zod";

// What a service publishes about each public route it serves: the schemas it validates the
// request with, and what a success answers. The API description (services/api/openapi.ts) is
// generated from these, so it cannot describe a body the service does not check; a test compares
// them with the routes the service's express app really registers.

export type HttpMethod = "get" | "post" | "put" | "patch" | "delete";

export interface Operation {
  /** Unique across the platform: the OpenAPI operationId, and the MCP tool name. */
  id: string;
  method: HttpMethod;
  /** The express path the service registers, e.g. `/v1/orders/:id`. */
  path: string;
  /** One line for the reference page and a tool's description. */
  summary: string;
  /** Each `:name` of the path, with the schema the service parses it with. */
  params?: Record<string, z.ZodType>;
  query?: z.ZodType;
  /** Request headers the route reads (e.g. `If-Match`, `Idempotency-Key`), by name. */
  headers?: Record<string, z.ZodType>;
  /** The JSON body's schema, or a multipart form's fields. */
  body?: { json: z.ZodType } | { multipart: z.ZodType };
  /** The status a success answers with, and what it sends. Default 200 with a JSON object. */
  success?: {
    status?: 200 | 201 | 202 | 204;
    /** The media type of a non-JSON answer, e.g. a file's bytes. */
    contentType?: string;
    /**
     * The JSON it answers, for the document and the client's types; held to the real answers
     * in every test run (answerCheck.ts). Unset: "a JSON object".
     */
    json?: z.ZodType;
    description?: string;
  };
  /** The route also answers as a server-sent-event stream (`stream: true` in the body). */
  streams?: boolean;
}

/** A service's operations; `satisfies` keeps their literal types for the registry. */
export const operations = <const T extends readonly Operation[]>(ops: T): T => ops;
