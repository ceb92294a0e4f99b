import type { ContextMessage, GenerateRequest, ToolCall, ToolSpec } from "../contract.ts";

// Structured answers by constrained generation: the model may only produce tokens that keep the
// text inside a JSON schema (llama.cpp grammars), so the answer parses and matches whatever the
// model's size. A tool call is such an answer too: `{"name": <one of the tools>, "arguments":
// <its parameters>}`, turned into the API's `tool_calls`.

/** What the answer must be: text (no constraint), JSON of a schema, or a call to one of `tools`. */
export type AnswerShape =
  | { kind: "text" }
  | { kind: "json"; schema: Record<string, unknown> }
  | { kind: "toolCall"; schema: Record<string, unknown>; tools: ToolSpec[] };

const anyObject = { type: "object", properties: {}, additionalProperties: true };

function callSchema(tool: ToolSpec): Record<string, unknown> {
  return {
    type: "object",
    properties: { name: { const: tool.name }, arguments: tool.parameters ?? anyObject },
    required: ["name", "arguments"],
  };
}

/**
 * The shape the request asks for. With `tool_choice: "auto"` a model this small cannot be trusted
 * to choose, so the rule is the usual turn-taking: call a tool, unless the last message is a
 * tool's answer, which the model then puts in words.
 */
export function answerShape(req: GenerateRequest): AnswerShape {
  const tools = req.tools ?? [];
  const choice = req.toolChoice ?? "auto";
  if (tools.length > 0 && choice !== "none") {
    const named = typeof choice === "object" ? tools.filter((t) => t.name === choice.name) : tools;
    const answering = req.messages.at(-1)?.role === "tool";
    if (choice !== "auto" || !answering) {
      const schemas = named.map(callSchema);
      return {
        kind: "toolCall",
        schema: schemas.length === 1 ? schemas[0]! : { oneOf: schemas },
        tools: named,
      };
    }
  }
  if (req.responseSchema) return { kind: "json", schema: req.responseSchema };
  return { kind: "text" };
}

/** The system text that tells the model its tools, in the words SmolLM2 was tuned on. */
export function toolInstructions(tools: readonly ToolSpec[]): string {
  const list = tools.map((t) =>
    JSON.stringify({
      name: t.name,
      description: t.description ?? "",
      parameters: t.parameters ?? anyObject,
    }),
  );
  return `You are an expert in composing functions. You are given a question and a set of possible functions. Call one of them to answer. You have access to the following tools:\n<tools>${list.join("\n")}</tools>\nAnswer with a JSON object {"name": <function name>, "arguments": <its arguments>}.`;
}

/** A context message in plain text for the chat template, which knows no tool roles. */
export function asText(m: ContextMessage): { role: string; content: string } {
  if (m.role === "tool") return { role: "user", content: `Tool result: ${m.content}` };
  if (m.toolCalls?.length) {
    const calls = m.toolCalls.map(
      (c) => `{"name": ${JSON.stringify(c.name)}, "arguments": ${c.arguments}}`,
    );
    return { role: m.role, content: [m.content, ...calls].filter(Boolean).join("\n") };
  }
  return { role: m.role, content: m.content };
}

/** The call in a constrained answer; the grammar guarantees its shape. */
export function toolCallOf(text: string, id: string): ToolCall {
  const parsed = JSON.parse(text) as { name: string; arguments: unknown };
  return { id, name: parsed.name, arguments: JSON.stringify(parsed.arguments) };
}
