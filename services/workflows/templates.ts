import type { Condition } from "./contract.ts";

// `{{ path }}` in a step's arguments or conditions: `input.<name>...` reads the run's input,
// `steps.<name>.output...` an earlier step's answer (`steps.<name>.status`: succeeded or
// skipped), `run.id` the run's own id. A string that is a
// template and nothing else takes the value's own type (a number stays a number); a template
// inside longer text is written into it. Paths only: no expressions, so a definition can never
// run code.

const TEMPLATE = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g;
const WHOLE = /^\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}$/;

/** What templates read: the run's input, each finished step's output, the run's id. */
export interface Scope {
  input: Record<string, unknown>;
  steps: Record<string, { output: unknown; status?: string }>;
  run: { id: string };
}

/** A template read nothing: the path names no value of the scope. */
export class MissingValue extends Error {}

function lookup(scope: Scope, path: string): unknown {
  let value: unknown = scope;
  for (const part of path.split(".")) {
    if (value === null || typeof value !== "object" || !Object.hasOwn(value, part))
      throw new MissingValue(`{{ ${path} }} names no value`);
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** `value` with every template replaced from `scope`; throws MissingValue for a path with none. */
export function resolve(value: unknown, scope: Scope): unknown {
  if (typeof value === "string") {
    const whole = WHOLE.exec(value);
    if (whole) return lookup(scope, whole[1]!);
    return value.replace(TEMPLATE, (_, path: string) => {
      const found = lookup(scope, path);
      return typeof found === "string" ? found : JSON.stringify(found);
    });
  }
  if (Array.isArray(value)) return value.map((v) => resolve(v, scope));
  if (value !== null && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, scope)]));
  return value;
}

/** Every path the templates in `value` read, for checking a definition before it runs. */
export function references(value: unknown): string[] {
  if (typeof value === "string") return [...value.matchAll(TEMPLATE)].map((m) => m[1]!);
  if (Array.isArray(value)) return value.flatMap(references);
  if (value !== null && typeof value === "object") return Object.values(value).flatMap(references);
  return [];
}

/** Whether `c` holds in `scope`; a comparison of a missing value or of unlike types is false. */
export function holds(c: Condition, scope: Scope): boolean {
  let value: unknown;
  try {
    value = resolve(c.value, scope);
  } catch (err) {
    if (err instanceof MissingValue) return c.op === "missing";
    throw err;
  }
  if (c.op === "exists") return value !== undefined && value !== null;
  if (c.op === "missing") return value === undefined || value === null;
  const than = resolve(c.than, scope);
  if (c.op === "eq") return JSON.stringify(value) === JSON.stringify(than);
  if (c.op === "ne") return JSON.stringify(value) !== JSON.stringify(than);
  const comparable =
    (typeof value === "number" && typeof than === "number") ||
    (typeof value === "string" && typeof than === "string");
  if (!comparable) return false;
  const [a, b] = [value, than] as [number, number];
  return c.op === "gt" ? a > b : c.op === "gte" ? a >= b : c.op === "lt" ? a < b : a <= b;
}
