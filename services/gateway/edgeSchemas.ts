import type { ZodType } from "zod";
import type { Operation } from "../shared/operation.ts";

/**
 * The JSON body schemas the gateway enforces, from the operations the services publish
 * (services/api/registry.ts, each service's `api.ts`): a malformed write stops at the edge, with
 * the very schema the service checks it with again, and the gateway knows no service by name.
 * A route without a published JSON body gets the generic checks only (size, type, well-formed
 * JSON); a multipart one is the service's to check (it is streamed through).
 */
export function edgeSchemas(
  published: Record<string, readonly Operation[]>,
): (method: string, path: string) => ZodType | undefined {
  const withBody = Object.values(published)
    .flat()
    .flatMap((op) =>
      op.body && "json" in op.body
        ? [{ method: op.method.toUpperCase(), pattern: pathPattern(op.path), schema: op.body.json }]
        : [],
    );
  return (method, path) =>
    withBody.find((op) => op.method === method && op.pattern.test(path))?.schema;
}

/** An express path (`/v1/articles/:id`) as a pattern of one request path: `:name` is a segment. */
function pathPattern(path: string): RegExp {
  const segments = path
    .split("/")
    .map((s) => (s.startsWith(":") ? "[^/]+" : s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
  return new RegExp(`^${segments.join("/")}$`);
}
