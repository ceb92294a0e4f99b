import { catalog } from "./infra/catalog/index.ts";
import { program } from "./stacks/program.ts";

// The Pulumi entry point (Pulumi.yaml `main`). Importing the catalog validates it; the stack's
// `platform:*` settings are validated before any resource is declared.
const outputs = program(catalog);

export const url = outputs.url;
export const endpoints = outputs.endpoints;
