import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Express, Response } from "express";
import swaggerUiDir from "swagger-ui-dist/absolute-path.js";
import type { Catalog } from "../../platform/catalog/schema.ts";
import { type StaticAsset, sendStaticAsset, staticAsset as asset } from "../shared/staticAsset.ts";

// The API's description for people and programs, answered by every gateway without a key (the
// router sends `/v1/openapi.json` and `/v1/docs` to the default domain's tier, as it does every
// path no service claims; on AWS the ALB's default action does the same):
//   GET /v1/openapi.json   the OpenAPI 3.1 document (services/api/openapi.ts)
//   GET /v1/docs           the reference page: Swagger UI (swagger-ui-dist, no CDN) on that document

export const OPENAPI_PATH = "/v1/openapi.json";
export const DOCS_PATH = "/v1/docs";

const CACHE = "public, max-age=300";
const send = (res: Response, a: StaticAsset) => sendStaticAsset(res, a, CACHE);

// No inline script, so that the page's policy can forbid every script but its own files.
const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>API reference</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${DOCS_PATH}/swagger-ui.css">
</head>
<body>
<div id="api"></div>
<script src="${DOCS_PATH}/swagger-ui-bundle.js"></script>
<script src="${DOCS_PATH}/init.js"></script>
</body>
</html>
`;
const init = `SwaggerUIBundle({ url: "${OPENAPI_PATH}", dom_id: "#api", deepLinking: true });\n`;
const policy = [
  "default-src 'none'",
  "script-src 'self'",
  // Swagger UI sets styles on its elements, and shows inline SVG and data: images.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
].join("; ");

/** Adds the two public description routes to a gateway's app, before its key check. */
export function apiDocsRoutes(app: Express, catalog: Catalog): void {
  let documentAsset: StaticAsset | undefined;
  let assets: Map<string, StaticAsset> | undefined;
  // Built on first use: a gateway that is never asked pays nothing.
  const files = () => {
    if (assets) return assets;
    const read = (name: string) => readFileSync(join(swaggerUiDir(), name));
    assets = new Map([
      ["", asset(page, "html")],
      ["/init.js", asset(init, "js")],
      ["/swagger-ui.css", asset(read("swagger-ui.css"), "css")],
      ["/swagger-ui-bundle.js", asset(read("swagger-ui-bundle.js"), "js")],
    ]);
    return assets;
  };

  app.get(OPENAPI_PATH, async (_req, res) => {
    res.locals.route = OPENAPI_PATH;
    if (!documentAsset) {
      // zod-openapi and every service's schemas load here, not in every gateway at start.
      const [{ openApiDocument }, { publishedOperations }] = await Promise.all([
        import("./openapi.ts"),
        import("./registry.ts"),
      ]);
      documentAsset = asset(
        JSON.stringify(openApiDocument(catalog, publishedOperations)),
        "application/json",
      );
    }
    send(res, documentAsset);
  });
  app.get([DOCS_PATH, `${DOCS_PATH}/:file`], (req, res, next) => {
    res.locals.route = DOCS_PATH;
    const file = req.params["file"];
    const found = files().get(file === undefined ? "" : `/${file}`);
    if (!found) return next();
    res.setHeader("content-security-policy", policy);
    send(res, found);
  });
}
