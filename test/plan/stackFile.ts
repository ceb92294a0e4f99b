import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

// Reads a stack's settings the way the CLI hands them to the program: `config:` of
// Pulumi.<stack>.yaml, scalars as strings. The CLI's own top-level keys (`encryptionsalt:`, which
// `pulumi stack init` writes, `secretsprovider:`, `encryptedkey:`) are not settings; a value the
// CLI encrypted (`secure:`) cannot be read without the stack's passphrase, so the mock run gets a
// stand-in that it treats as a secret.

export class StackFileError extends Error {
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = "StackFileError";
  }
}

export interface StackFile {
  /** `{ "ns:key": "value" }` of the plain settings. */
  config: Record<string, string>;
  /** Stand-ins for the settings the file holds encrypted, by key. */
  secrets: Record<string, string>;
}

const cliKeys = new Set([
  "config",
  "encryptionsalt",
  "secretsprovider",
  "encryptedkey",
  "environment",
]);

/** Parses a Pulumi stack file. */
export function parseStackFile(text: string, file = "stack file"): StackFile {
  let doc: unknown;
  try {
    doc = parse(text) ?? {};
  } catch (err) {
    throw new StackFileError(file, `not YAML: ${(err as Error).message}`);
  }
  if (typeof doc !== "object" || Array.isArray(doc)) throw new StackFileError(file, "not a map");
  for (const key of Object.keys(doc as object)) {
    if (!cliKeys.has(key)) throw new StackFileError(file, `unknown top-level key "${key}"`);
  }
  const entries = Object.entries(((doc as Record<string, unknown>)["config"] ?? {}) as object);
  const stackFile: StackFile = { config: {}, secrets: {} };
  for (const [key, value] of entries) {
    if (!/^[a-zA-Z][\w-]*:[\w-]+$/.test(key))
      throw new StackFileError(file, `"${key}" is not a namespace:key setting`);
    if (value !== null && typeof value === "object" && "secure" in value) {
      stackFile.secrets[key] = `mock-secure-${key.replace(":", "-")}-do-not-print`;
    } else if (["string", "number", "boolean"].includes(typeof value)) {
      stackFile.config[key] = String(value);
    } else {
      throw new StackFileError(file, `${key}: only scalar values and secure secrets are supported`);
    }
  }
  return stackFile;
}

/** Reads `Pulumi.<stack>.yaml` from `projectDir`; names the known stacks when it is missing. */
export function readStackFile(projectDir: string, stack: string): StackFile {
  if (!/^[\w.-]+$/.test(stack)) throw new Error(`invalid stack name "${stack}"`);
  const file = join(projectDir, `Pulumi.${stack}.yaml`);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    const known = readdirSync(projectDir)
      .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
      .filter((s): s is string => s !== undefined);
    throw new Error(
      `unknown stack "${stack}": no ${file} (known stacks: ${known.join(", ") || "none"})`,
    );
  }
  return parseStackFile(text, `Pulumi.${stack}.yaml`);
}
