import { catalog } from "./platform/catalog/index.ts";
import { stackSettings } from "./infra/stackConfig.ts";
import { preflight } from "./stacks/preflight.ts";
import { program } from "./stacks/program.ts";

// The Pulumi entry point (Pulumi.yaml `main`). Importing the catalog validates it; the stack's
// `platform:*` settings are validated, and the target's engine checked, before any resource is
// declared.
await preflight(stackSettings().target);
const outputs = program(catalog);

export const url = outputs.url;
export const endpoints = outputs.endpoints;
