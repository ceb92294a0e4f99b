import { z } from "zod";
import { backends, modelConfig } from "../model/contract.ts";

// The inference service's internal API, shared with its caller (chat). A generation is always
// streamed back as JSON lines (one `GenerationEvent` each), so that one code path serves both
// streamed and whole answers; the caller assembles a whole answer itself.

/** JSON Schema as the caller wrote it; the backend that constrains to it says what it supports. */
export const jsonSchema = z.record(z.string(), z.unknown());

export const toolCall = z
  .object({
    id: z.string().min(1).max(200),
    name: z.string().min(1).max(64),
    /** The arguments as a JSON text, as the OpenAI API carries them. */
    arguments: z.string().max(100_000),
  })
  .strict();
export type ToolCall = z.infer<typeof toolCall>;

export const toolSpec = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1-64 characters of A-Z a-z 0-9 _ -"),
    description: z.string().max(10_000).optional(),
    parameters: jsonSchema.optional(),
  })
  .strict();
export type ToolSpec = z.infer<typeof toolSpec>;

/** "auto" (the model decides), "none", "required" (some call), or the one function to call. */
export const toolChoice = z.union([
  z.enum(["auto", "none", "required"]),
  z.object({ name: z.string().min(1).max(64) }).strict(),
]);
export type ToolChoice = z.infer<typeof toolChoice>;

/**
 * One message of the context: a tool's answer names the call it answers, and an assistant's turn
 * may hold the calls it made.
 */
export const contextMessage = z
  .object({
    role: z.string().min(1),
    content: z.string(),
    toolCallId: z.string().min(1).max(200).optional(),
    toolCalls: z.array(toolCall).max(64).optional(),
  })
  .strict();
export type ContextMessage = z.infer<typeof contextMessage>;

export const generateBody = z
  .object({
    model: z.object({
      id: z.string(),
      name: z.string(),
      version: z.number().int(),
      backend: z.enum(backends),
      config: modelConfig,
      contextTokens: z.number().int(),
      maxOutputTokens: z.number().int(),
      createdAt: z.string(),
    }),
    messages: z.array(contextMessage).min(1),
    temperature: z.number().min(0).max(2),
    topP: z.number().gt(0).max(1),
    maxTokens: z.number().int().min(1),
    seed: z.number().int().optional(),
    stop: z.array(z.string().min(1)).max(16).optional(),
    /** A JSON schema the answer must match (response_format json_schema, or any JSON object). */
    responseSchema: jsonSchema.optional(),
    /** Functions the model may call; `toolChoice` says whether it must (see llm/constrained.ts). */
    tools: z.array(toolSpec).max(64).optional(),
    toolChoice: toolChoice.optional(),
  })
  .strict();

export type GenerateRequest = z.infer<typeof generateBody>;

export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

export type FinishReason = "stop" | "length" | "tool_calls";

export type GenerationEvent =
  /**
   * The first line: which model answers (`system_fingerprint`), which is not the one asked for
   * when the service falls back to the n-gram model.
   */
  | { type: "start"; fingerprint: string }
  | { type: "delta"; text: string }
  /** A whole function call, after any text, before `done`. */
  | { type: "toolCall"; call: ToolCall }
  | { type: "done"; finishReason: FinishReason; usage: Usage }
  /** A failure after the answer began: the status it would have had, and an OpenAI-style error. */
  | { type: "error"; status: number; code: string; message: string };

export const NDJSON = "application/x-ndjson";
