import { argumentProblem, type BridgedTool, type ToolArguments } from "../api/tools.ts";
import { badRequest } from "../shared/errors.ts";
import type { Definition, InputSpec, Step } from "./contract.ts";
import { references } from "./templates.ts";

// What the schema cannot say about a definition: that its operations exist, that each template
// reads an input it declares or a step that ran before it, and that a run's input fits. Each
// refusal names the field, as `steps.2.call`, so that an author finds it at creation, not in a
// failed run hours later.

/** Refuses (400) a definition whose steps cannot run, naming the first bad field. */
export function checkDefinition(def: Definition, tools: ReadonlyMap<string, BridgedTool>): void {
  const seen = new Set<string>();
  def.steps.forEach((s, i) => {
    const at = `steps.${i}`;
    if (seen.has(s.name))
      throw badRequest(
        "invalid_parameter",
        `${at}.name: "${s.name}" names an earlier step`,
        `${at}.name`,
      );
    checkCall(s.call, s.args ?? {}, `${at}`, tools);
    if (s.compensate) checkCall(s.compensate.call, s.compensate.args, `${at}.compensate`, tools);
    // A step reads the steps before it; its compensation runs after it, so it may read itself.
    checkReferences(stepTemplates(s), `${at}`, def.inputs, seen);
    seen.add(s.name);
    // `until` reads the step's own answer.
    if (s.until) checkReferences(s.until, `${at}.until`, def.inputs, seen);
    if (s.compensate) checkReferences(s.compensate.args, `${at}.compensate.args`, def.inputs, seen);
  });
  for (const [name, spec] of Object.entries(def.inputs))
    if (spec.default !== undefined && !fits(spec, spec.default))
      throw badRequest(
        "invalid_parameter",
        `inputs.${name}.default: must be of type ${spec.type}`,
        `inputs.${name}.default`,
      );
}

function checkCall(
  call: string | undefined,
  args: ToolArguments,
  at: string,
  tools: ReadonlyMap<string, BridgedTool>,
): void {
  if (call === undefined) return;
  const tool = tools.get(call);
  if (!tool)
    throw badRequest(
      "invalid_parameter",
      `${at}.call: "${call}" is no operation a workflow can call (see GET /v1/openapi.json)`,
      `${at}.call`,
    );
  const problem = argumentProblem(tool, args);
  if (problem) throw badRequest("invalid_parameter", `${at}.args: ${problem}`, `${at}.args`);
}

const stepTemplates = (s: Step) => ({ if: s.if, args: s.args, assert: s.assert });

function checkReferences(
  value: unknown,
  at: string,
  inputs: Record<string, InputSpec>,
  earlier: ReadonlySet<string>,
): void {
  for (const path of references(value)) {
    const [root, name] = path.split(".");
    const ok =
      (root === "input" && name !== undefined && Object.hasOwn(inputs, name)) ||
      (root === "steps" && name !== undefined && earlier.has(name)) ||
      path === "run.id";
    if (!ok)
      throw badRequest(
        "invalid_parameter",
        `${at}: {{ ${path} }} reads neither a declared input, an earlier step nor run.id`,
        at,
      );
  }
}

function fits(spec: InputSpec, value: unknown): boolean {
  if (spec.type === "array") return Array.isArray(value);
  if (spec.type === "object")
    return typeof value === "object" && value !== null && !Array.isArray(value);
  return typeof value === spec.type;
}

/** The run's input with defaults applied; refuses (400) a missing, unknown or mistyped one. */
export function runInput(
  def: Pick<Definition, "inputs">,
  given: Record<string, unknown>,
): Record<string, unknown> {
  for (const name of Object.keys(given))
    if (!Object.hasOwn(def.inputs, name))
      throw badRequest(
        "invalid_parameter",
        `input.${name}: the workflow declares no such input`,
        `input.${name}`,
      );
  const input: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(def.inputs)) {
    const value = given[name] ?? spec.default;
    if (value === undefined)
      throw badRequest("invalid_parameter", `input.${name}: required`, `input.${name}`);
    if (!fits(spec, value))
      throw badRequest(
        "invalid_parameter",
        `input.${name}: must be of type ${spec.type}`,
        `input.${name}`,
      );
    input[name] = value;
  }
  return input;
}
