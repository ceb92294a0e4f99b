import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

// Stack files here are flat `config:` maps of scalars. No YAML package is installed, so this
// reads exactly that subset and rejects anything else with the line number, rather than
// guessing at YAML it does not understand.

export class StackFileError extends Error {
  constructor(file: string, line: number, message: string) {
    super(`${file}:${line}: ${message}`);
    this.name = "StackFileError";
  }
}

function scalar(raw: string, file: string, line: number): string {
  const quoted = /^(["'])(.*)\1$/.exec(raw);
  if (quoted) return quoted[2]!;
  const value = raw.replace(/\s+#.*$/, "");
  if (value === "" || /^[[{|>&*!]/.test(value)) {
    throw new StackFileError(file, line, `only plain scalar values are supported (got "${raw}")`);
  }
  return value;
}

/** Parses the `config:` map of a Pulumi stack file into `{ "ns:key": "value" }`. */
export function parseStackFile(text: string, file = "stack file"): Record<string, string> {
  const config: Record<string, string> = {};
  let inConfig = false;
  text.split(/\r?\n/).forEach((content, i) => {
    const line = i + 1;
    if (/^\s*(#.*)?$/.test(content)) return;
    if (/^config:\s*(#.*)?$/.test(content)) {
      inConfig = true;
      return;
    }
    const entry = /^ {2}([a-zA-Z][\w-]*:[\w-]+):(?:\s+(.*))?$/.exec(content);
    if (!inConfig || !entry) {
      throw new StackFileError(
        file,
        line,
        "expected `config:` then two-space indented `namespace:key: value` lines",
      );
    }
    if (entry[2] === undefined || entry[2].trim() === "") {
      throw new StackFileError(
        file,
        line,
        `${entry[1]} has no value (nested values, such as secure secrets, are not supported)`,
      );
    }
    config[entry[1]!] = scalar(entry[2].trim(), file, line);
  });
  return config;
}

/** Reads `Pulumi.<stack>.yaml` from `projectDir`; names the known stacks when it is missing. */
export function readStackConfig(projectDir: string, stack: string): Record<string, string> {
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
