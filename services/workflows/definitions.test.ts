import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { publishedOperations } from "../api/registry.ts";
import { bridgedTools } from "../api/tools.ts";
import { definitionBody } from "./contract.ts";
import { checkDefinition } from "./definition.ts";

// The definitions shipped in services/workflows/definitions/ stay valid as the API changes: each
// passes the checks a POST /v1/workflows makes, against the operations the services publish now
// (test/e2e/training.test.ts runs the training one end to end).

const dir = join(__dirname, "definitions");
const tools = new Map(bridgedTools(publishedOperations, "workflows").map((t) => [t.name, t]));

it.each(readdirSync(dir).filter((f) => f.endsWith(".json")))("%s", (file) => {
  const definition = definitionBody.parse(JSON.parse(readFileSync(join(dir, file), "utf8")));
  expect(() => checkDefinition(definition, tools)).not.toThrow();
});
