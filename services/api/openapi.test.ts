import { Validator } from "@seriousme/openapi-schema-validator";
import express, { type Express } from "express";
import { catalog } from "../../platform/catalog/index.ts";
import type { CatalogInput } from "../../platform/catalog/schema.ts";
import { services } from "../../platform/catalog/topology.ts";
import { validateCatalog } from "../../platform/catalog/validate.ts";
import { defaultCatalog } from "../../platform/catalog/default.ts";
import { analyticsRoutes } from "../analytics/app.ts";
import { articleRoutes } from "../articles/app.ts";
import { authRoutes } from "../auth/app.ts";
import { billingRoutes } from "../billing/app.ts";
import { chatRoutes } from "../chat/app.ts";
import { mcpRoutes } from "../mcp/app.ts";
import { monitoringRoutes } from "../monitoring/app.ts";
import { orderRoutes } from "../orders/app.ts";
import { quotaRoutes } from "../quota/app.ts";
import { storageRoutes } from "../storage/app.ts";
import { trainingRoutes } from "../training/app.ts";
import { userRoutes } from "../user/app.ts";
import { videoRoutes } from "../video/app.ts";
import { workflowRoutes } from "../workflows/app.ts";
import { openApiDocument, openApiPath } from "./openapi.ts";
import { publishedOperations } from "./registry.ts";

// The API description against what runs: every public route each service's express app really
// registers is in the document with its method, and the document lists nothing that no service
// serves; it is a valid OpenAPI 3.1 document; and the schemas in it are the ones the services
// parse with.

/** Stands in for any dependency: registering routes must not use one. */
const anything: unknown = new Proxy(function () {}, {
  get: (_t, key) => (key === Symbol.toPrimitive ? () => 0 : anything),
  apply: () => anything,
});
const deps = anything as never;

const register: Record<string, (app: Express) => void> = {
  analytics: (app) => analyticsRoutes(app, deps, deps),
  articles: (app) => articleRoutes(app, deps),
  auth: (app) => authRoutes(app, deps, deps),
  billing: (app) => billingRoutes(app, deps, deps),
  chat: (app) => chatRoutes(app, deps),
  mcp: (app) => mcpRoutes(app, deps),
  monitoring: (app) => monitoringRoutes(app, deps, { adminToken: "t", refreshSeconds: 5 }),
  orders: (app) => orderRoutes(app, deps),
  quota: (app) => quotaRoutes(app, deps),
  storage: (app) => storageRoutes(app, { files: deps, maxFileBytes: 1024, perUser: deps }),
  training: (app) => trainingRoutes(app, deps),
  video: (app) => videoRoutes(app, deps),
  user: (app) => userRoutes(app, deps),
  workflows: (app) => workflowRoutes(app, deps),
};

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
}

/** `METHOD /path` of every public route an express app registers. */
function registered(app: Express): string[] {
  const stack = (app as unknown as { router: { stack: Layer[] } }).router.stack;
  return stack.flatMap((layer) => {
    if (!layer.route) return [];
    const paths = [layer.route.path].flat().filter((p) => p.startsWith("/v1"));
    const methods = Object.keys(layer.route.methods).filter((m) => m !== "_all");
    return paths.flatMap((p) => methods.map((m) => `${m.toUpperCase()} ${p}`));
  });
}

const document = openApiDocument(catalog, publishedOperations);

it("has every public route of every service's app, and nothing else", () => {
  const served: string[] = [];
  for (const s of services(catalog).filter((s) => s.routes.length > 0)) {
    const add = register[s.name];
    if (!add) throw new Error(`a test registrar for ${s.name} is missing above`);
    const app = express();
    add(app);
    served.push(
      ...registered(app).map((r) => r.replace(/ (\S+)$/, (_m, p) => ` ${openApiPath(p)}`)),
    );
  }
  const documented = Object.entries(document.paths ?? {}).flatMap(([path, item]) =>
    Object.keys(item as object).map((method) => `${method.toUpperCase()} ${path}`),
  );
  expect(served.length).toBeGreaterThan(30);
  expect(documented.sort()).toEqual(served.sort());
});

it("is a valid OpenAPI 3.1 document", async () => {
  const result = await new Validator().validate(JSON.parse(JSON.stringify(document)));
  expect(result.errors ?? []).toEqual([]);
  expect(result.valid).toBe(true);
  expect(document.openapi).toBe("3.1.0");
});

it("describes a body with the very schema the service parses it with", () => {
  const post = document.paths?.["/v1/orders"]?.post;
  const schema = (post?.requestBody as { content: Record<string, { schema: unknown }> }).content[
    "application/json"
  ]!.schema;
  expect(schema).toMatchObject({
    type: "object",
    required: ["item", "quantity"],
    additionalProperties: false,
    properties: { quantity: { type: "integer", minimum: 1, maximum: 10_000 } },
  });
});

it("refuses a catalog service with public routes that publishes no operations", () => {
  const withCarts: CatalogInput = structuredClone(defaultCatalog);
  withCarts.services["carts"] = { domain: "business", routes: ["/v1/carts"] };
  expect(() => openApiDocument(validateCatalog(withCarts), publishedOperations)).toThrow(
    "service carts has public routes but publishes no operations",
  );
});

it("refuses an operation outside its service's routes", () => {
  const stray = {
    ...publishedOperations,
    orders: [{ id: "stray", method: "get", path: "/v1/carts", summary: "stray" }] as const,
  };
  expect(() => openApiDocument(catalog, stray)).toThrow(
    "orders: operation stray (/v1/carts) is outside its routes",
  );
});
