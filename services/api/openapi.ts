import { z } from "zod";
import { createDocument, type ZodOpenApiOperationObject } from "zod-openapi";
import type { Catalog } from "../../platform/catalog/schema.ts";
import { services } from "../../platform/catalog/topology.ts";
import type { Operation } from "../shared/operation.ts";

// The public API as one OpenAPI 3.1 document, generated from the operations the catalog's services
// publish (their api.ts) with zod-openapi: each body, query, path and header schema is the zod
// schema the service parses the request with, so the document cannot promise what the service
// refuses. Served without a key at /v1/openapi.json (services/api/docsRoutes.ts).

const errorTypes = [
  "invalid_request_error",
  "authentication_error",
  "permission_error",
  "not_found_error",
  "rate_limit_error",
  "api_error",
  "service_unavailable",
] as const;

/** services/shared/errors.ts's answer, as every 4xx and 5xx of every route carries it. */
const errorSchema = z
  .object({
    error: z.object({
      message: z.string(),
      type: z.enum(errorTypes),
      code: z.string(),
      param: z.string().nullable(),
      request_id: z.string().optional(),
    }),
  })
  .meta({ id: "Error", description: "What went wrong, in OpenAI's error shape" });

const errorResponse = (description: string) => ({
  description,
  content: { "application/json": { schema: errorSchema } },
});

/** What every operation may answer besides its success: the edge's and the service's refusals. */
const commonErrors = {
  "400": errorResponse("The request is malformed: the message names the field"),
  "401": errorResponse("No API key, or one that is not valid"),
  "404": errorResponse("Nothing of the caller's at this address"),
  "429": errorResponse("A rate limit or quota is reached: retry after `Retry-After`"),
  "503": errorResponse("The service is unavailable: retry after `Retry-After`"),
};

/** `/v1/orders/:id` as OpenAPI writes it: `/v1/orders/{id}`. */
export const openApiPath = (expressPath: string) => expressPath.replace(/:(\w+)/g, "{$1}");

function operationObject(service: string, op: Operation): ZodOpenApiOperationObject {
  const status = String(op.success?.status ?? 200);
  const description = op.success?.description ?? "Done";
  const json = { "application/json": { schema: op.success?.json ?? z.looseObject({}) } };
  const success =
    status === "204"
      ? { description }
      : op.success?.contentType
        ? { description, content: { [op.success.contentType]: { schema: z.string() } } }
        : {
            description,
            content: op.streams ? { ...json, "text/event-stream": { schema: z.string() } } : json,
          };
  const body = op.body
    ? "json" in op.body
      ? { content: { "application/json": { schema: op.body.json } }, required: true }
      : { content: { "multipart/form-data": { schema: op.body.multipart } }, required: true }
    : undefined;
  return {
    operationId: op.id,
    summary: op.summary,
    tags: [service],
    requestParams: {
      ...(op.params ? { path: z.object(op.params) } : {}),
      ...(op.query ? { query: op.query as z.ZodObject } : {}),
      ...(op.headers ? { header: z.object(op.headers) } : {}),
    },
    ...(body ? { requestBody: body } : {}),
    responses: { [status]: success, ...commonErrors },
  };
}

/**
 * The OpenAPI 3.1 document of the public API: every operation of every catalog service with
 * public routes. A service the catalog lists with routes but no published operations fails here,
 * as does an operation outside its service's routes, so the document and the routing agree.
 */
export function openApiDocument(
  catalog: Catalog,
  published: Record<string, readonly Operation[]>,
): ReturnType<typeof createDocument> {
  const paths: Record<string, Record<string, ZodOpenApiOperationObject>> = {};
  for (const s of services(catalog)) {
    if (s.routes.length === 0) continue;
    const ops = published[s.name];
    if (!ops) throw new Error(`service ${s.name} has public routes but publishes no operations`);
    for (const op of ops) {
      const owned = s.routes.some((r) => op.path === r || op.path.startsWith(`${r}/`));
      if (!owned)
        throw new Error(`${s.name}: operation ${op.id} (${op.path}) is outside its routes`);
      const path = openApiPath(op.path);
      paths[path] ??= {};
      if (paths[path][op.method]) throw new Error(`${op.method} ${path} is published twice`);
      paths[path][op.method] = operationObject(s.name, op);
    }
  }
  return createDocument({
    openapi: "3.1.0",
    info: {
      title: `${catalog.name} API`,
      version: "1",
      description:
        "The platform's public API, through the router and the gateway tiers: every route takes an API key as `Authorization: Bearer sk-...`.",
    },
    servers: [{ url: "/" }],
    security: [{ apiKey: [] }],
    components: {
      securitySchemes: { apiKey: { type: "http", scheme: "bearer", description: "An API key" } },
    },
    paths,
  });
}
