import { readFileSync } from "node:fs";
import { GENERATED, generatedTypes } from "../../../scripts/client/generate.ts";

// The client's types are the OpenAPI document's: an API change without `npm run client:generate`
// fails here, naming the command.

it("src/openapi.ts is what the platform's OpenAPI document generates today", async () => {
  const fresh = await generatedTypes();
  const kept = readFileSync(GENERATED, "utf8");
  if (fresh !== kept)
    throw new Error(
      `${GENERATED} is out of date with the platform's OpenAPI document: run npm run client:generate`,
    );
  expect(fresh).toContain('"POST /v1/orders"');
});
