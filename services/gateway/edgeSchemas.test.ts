import { publishedOperations } from "../api/registry.ts";
import { createArticleBody, updateArticleBody } from "../articles/contract.ts";
import { chatCompletionBody } from "../chat/contract.ts";
import { edgeSchemas } from "./edgeSchemas.ts";

// The gateway enforces the body schemas the services publish (issue #15: no service known by
// name in the gateway), matched by method and path as the service's own routes are.

const schemaFor = edgeSchemas(publishedOperations);

test("a published JSON body is enforced on its method and path, path parameters included", () => {
  expect(schemaFor("POST", "/v1/articles")).toBe(createArticleBody);
  expect(schemaFor("PATCH", "/v1/articles/art_123")).toBe(updateArticleBody);
  expect(schemaFor("POST", "/v1/chat/completions")).toBe(chatCompletionBody);
});

test("no schema for reads, other paths, or an upload the service checks itself", () => {
  expect(schemaFor("GET", "/v1/articles")).toBeUndefined();
  expect(schemaFor("PATCH", "/v1/articles/a/b")).toBeUndefined();
  expect(schemaFor("PATCH", "/v1/articles")).toBeUndefined();
  expect(schemaFor("POST", "/v1/files")).toBeUndefined();
  expect(schemaFor("POST", "/v1/nothing-here")).toBeUndefined();
});

test("every service's JSON bodies are there, not only a hand-picked few", () => {
  const withJson = Object.values(publishedOperations)
    .flat()
    .filter((op) => op.body && "json" in op.body);
  expect(withJson.length).toBeGreaterThanOrEqual(9);
  for (const op of withJson) {
    const path = op.path.replace(/:[a-z_]+/gi, "x1");
    expect([op.id, schemaFor(op.method.toUpperCase(), path)]).toEqual([
      op.id,
      (op.body as { json: unknown }).json,
    ]);
  }
});
