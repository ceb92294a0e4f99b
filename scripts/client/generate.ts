import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";
import { format, resolveConfig } from "prettier";
import { catalog } from "../../platform/catalog/index.ts";
import { openApiDocument } from "../../services/api/openapi.ts";
import { publishedOperations } from "../../services/api/registry.ts";

// The client library's request and answer types, generated from the platform's OpenAPI document
// (the one the gateways serve at /v1/openapi.json): `npm run client:generate` after an API change.
// clients/platform-client/test/generated.test.ts fails while the file is out of date.

export const GENERATED = fileURLToPath(
  new URL("../../clients/platform-client/src/openapi.ts", import.meta.url),
);

interface Doc {
  paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>>;
}

export async function generatedTypes(): Promise<string> {
  const document = JSON.parse(JSON.stringify(openApiDocument(catalog, publishedOperations))) as Doc;
  const ast = await openapiTS(document as unknown as Parameters<typeof openapiTS>[0]);
  // The creates a retry may repeat safely: those that take an Idempotency-Key.
  const creates = Object.entries(document.paths).flatMap(([path, ops]) =>
    Object.entries(ops)
      .filter(([, op]) =>
        (op.parameters ?? []).some((p) => p.in === "header" && /^idempotency-key$/i.test(p.name)),
      )
      .map(([method]) => `${method.toUpperCase()} ${path}`),
  );
  const text =
    "// Generated from the platform's OpenAPI document by scripts/client/generate.ts: do not edit.\n" +
    astToString(ast) +
    "\n/** Operations that take an `Idempotency-Key`: the client sends one, so a retry cannot create twice. */\n" +
    `export const IDEMPOTENT_CREATES: readonly string[] = ${JSON.stringify(creates.sort())};\n`;
  return format(text, { ...(await resolveConfig(GENERATED)), filepath: GENERATED });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // No top-level await: the test imports this module through Jest.
  void generatedTypes().then((text) => {
    writeFileSync(GENERATED, text);
    console.log(`wrote ${GENERATED}`);
  });
}
