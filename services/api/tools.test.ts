import { publishedOperations } from "./registry.ts";
import { forwardedChain } from "./bridge.ts";
import { argumentProblem, bridgedTools, requestOf } from "./tools.ts";

// The bridge's pure parts: tools from the published operations, and the requests they make.

const tools = bridgedTools(publishedOperations, "mcp");
const tool = (name: string) => tools.find((t) => t.name === name)!;

test("every published operation but uploads and the endpoint itself is a tool, once", () => {
  const expected = Object.entries(publishedOperations)
    .filter(([service]) => service !== "mcp")
    .flatMap(([, ops]) => ops.filter((op) => !(op.body && "multipart" in op.body)))
    .map((op) => op.id);
  expect(tools.map((t) => t.name)).toEqual(expected);
  expect(new Set(expected).size).toBe(expected.length);
  expect(tools.map((t) => t.name)).not.toContain("uploadFile");
  for (const t of tools) expect(t.name).toMatch(/^[A-Za-z0-9_-]{1,128}$/);
});

test("a tool's schema holds the path parameters, the query, the headers and the body", () => {
  const get = tool("getOrder");
  expect(get.inputSchema.required).toEqual(["id"]);
  const create = tool("createOrder").inputSchema;
  expect(create.required).toEqual(["body"]);
  expect(create.properties["body"]).toMatchObject({
    type: "object",
    required: ["item", "quantity"],
  });
  expect(create.properties["headers"]).toMatchObject({
    properties: { "Idempotency-Key": expect.any(Object) },
  });
  expect(tool("listOrders").inputSchema.properties["query"]).toMatchObject({ type: "object" });
});

test("a call becomes the request: path filled and escaped, query, headers the route reads", () => {
  expect(requestOf(tool("getOrder"), { id: "ord_1/../x" })).toEqual({
    method: "GET",
    path: "/v1/orders/ord_1%2F..%2Fx",
    headers: {},
  });
  expect(requestOf(tool("listOrders"), { query: { limit: 5, after: undefined } }).path).toBe(
    "/v1/orders?limit=5",
  );
  expect(
    requestOf(tool("createOrder"), {
      body: { item: "a", quantity: 1 },
      headers: { "Idempotency-Key": "k1", "x-principal-user": "someone-else" },
    }),
  ).toEqual({
    method: "POST",
    path: "/v1/orders",
    // Only the headers the operation reads: a principal header from a caller goes nowhere.
    headers: { "idempotency-key": "k1" },
    body: { item: "a", quantity: 1 },
  });
});

test("arguments that cannot make the request are named", () => {
  expect(argumentProblem(tool("getOrder"), {})).toBe(
    'getOrder: argument "id" is required (a string)',
  );
  expect(argumentProblem(tool("createOrder"), {})).toBe('createOrder: argument "body" is required');
  expect(argumentProblem(tool("listOrders"), { query: "limit=5" as never })).toBe(
    'listOrders: argument "query" must be an object',
  );
  expect(argumentProblem(tool("getOrder"), { id: "ord_1" })).toBeUndefined();
});

test("the next tier sees the caller's chain as the bridge's own tier received it", () => {
  // client (what it wrote itself first), then the router's entry, then the tier's (the router).
  expect(forwardedChain("6.6.6.6, 203.0.113.9, 10.0.0.5")).toBe("6.6.6.6, 203.0.113.9");
  expect(forwardedChain("203.0.113.9")).toBeUndefined();
  expect(forwardedChain(undefined)).toBeUndefined();
});
