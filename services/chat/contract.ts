import { z } from "zod";

// The chat API's request shape, shared by the service and the gateway's validation: a body of
// the wrong shape (a missing or mistyped field, an unknown one) is a 400 at the edge. Values of
// the right type but out of range are the service's to refuse, with 422, as DeepSeek does.

const textPart = z.object({ type: z.literal("text"), text: z.string() }).strict();

/** `null` means "the default" for OpenAI's optional fields, so every one of them accepts it. */
const opt = <T extends z.ZodType>(t: T) => t.nullable().optional();

const functionName = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1-64 characters of A-Z a-z 0-9 _ -");

/** A call the assistant made, as a later request sends it back. */
const messageToolCall = z
  .object({
    id: z.string().min(1).max(200),
    type: z.literal("function"),
    function: z.object({ name: functionName, arguments: z.string().max(100_000) }).strict(),
  })
  .strict();

/**
 * One message. An assistant's turn may be tool calls with no content; a tool's answer names the
 * call it answers (both checked by the service, which answers 422 naming the field).
 */
export const chatMessage = z
  .object({
    role: z.enum(["system", "developer", "user", "assistant", "tool"]),
    content: z.union([z.string(), z.array(textPart).min(1)]).nullable(),
    name: z.string().min(1).max(64).optional(),
    tool_call_id: z.string().min(1).max(200).optional(),
    tool_calls: z.array(messageToolCall).min(1).max(64).optional(),
  })
  .strict();

/** JSON Schema, checked by the model's grammar converter (its 400 names `response_format`). */
const schemaObject = z.record(z.string(), z.unknown());

export const tool = z
  .object({
    type: z.literal("function"),
    function: z
      .object({
        name: functionName,
        description: z.string().max(10_000).optional(),
        parameters: schemaObject.optional(),
        strict: opt(z.boolean()),
      })
      .strict(),
  })
  .strict();

export const toolChoiceBody = z.union([
  z.enum(["none", "auto", "required"]),
  z
    .object({ type: z.literal("function"), function: z.object({ name: functionName }).strict() })
    .strict(),
]);

export const responseFormat = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text") }).strict(),
  z.object({ type: z.literal("json_object") }).strict(),
  z
    .object({
      type: z.literal("json_schema"),
      json_schema: z
        .object({
          name: functionName,
          description: z.string().max(10_000).optional(),
          schema: schemaObject.optional(),
          strict: opt(z.boolean()),
        })
        .strict(),
    })
    .strict(),
]);

export const chatCompletionBody = z
  .object({
    model: z.string().min(1).max(200),
    messages: z.array(chatMessage).min(1).max(1_000),
    temperature: opt(z.number()),
    top_p: opt(z.number()),
    max_tokens: opt(z.number().int()),
    max_completion_tokens: opt(z.number().int()),
    stream: opt(z.boolean()),
    stream_options: opt(z.object({ include_usage: z.boolean().optional() }).strict()),
    stop: opt(z.union([z.string(), z.array(z.string())])),
    seed: opt(z.number().int()),
    n: opt(z.number().int()),
    frequency_penalty: opt(z.number()),
    presence_penalty: opt(z.number()),
    logprobs: opt(z.boolean()),
    response_format: opt(responseFormat),
    tools: opt(z.array(tool).max(64)),
    tool_choice: opt(toolChoiceBody),
    parallel_tool_calls: opt(z.boolean()),
    user: z.string().max(256).optional(),
  })
  .strict();

export type ChatCompletionBody = z.infer<typeof chatCompletionBody>;
export type ChatMessage = z.infer<typeof chatMessage>;

/** A request's conversation, in this header: the service keeps its history (docs/chat.md). */
export const CONVERSATION_HEADER = "x-conversation-id";
export const conversationId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1-64 characters of A-Z a-z 0-9 _ -");

export const completionUsage = z
  .object({
    prompt_tokens: z.number().int().min(0),
    completion_tokens: z.number().int().min(0),
    total_tokens: z.number().int().min(0),
    prompt_cache_hit_tokens: z.number().int().min(0).meta({
      description: "DeepSeek's split of the prompt: the tokens answered from the cache",
    }),
    prompt_cache_miss_tokens: z.number().int().min(0).meta({ description: "And the rest" }),
  })
  .strict();
export type CompletionUsage = z.infer<typeof completionUsage>;

const choiceToolCall = z
  .object({
    id: z.string(),
    type: z.literal("function"),
    function: z.object({ name: z.string(), arguments: z.string() }).strict(),
  })
  .strict();
export type ChoiceToolCall = z.infer<typeof choiceToolCall>;

/** A whole (not streamed) chat completion, in the OpenAI API's shape. */
export const chatCompletion = z
  .object({
    id: z.string().regex(/^chatcmpl-/),
    object: z.literal("chat.completion"),
    created: z.number().int(),
    model: z.string().meta({ description: "The model as the request named it" }),
    system_fingerprint: z.string(),
    choices: z
      .array(
        z
          .object({
            index: z.literal(0),
            message: z
              .object({
                role: z.literal("assistant"),
                content: z.string().nullable(),
                tool_calls: z.array(choiceToolCall).optional(),
              })
              .strict(),
            logprobs: z.null(),
            finish_reason: z.enum(["stop", "length", "tool_calls", "aborted"]).meta({
              description:
                "`aborted`: the model's answer ended without a reason (its generation broke off)",
            }),
          })
          .strict(),
      )
      .length(1),
    usage: completionUsage,
  })
  .strict()
  .meta({ id: "ChatCompletion", description: "A chat completion, answered whole" });
export type ChatCompletion = z.infer<typeof chatCompletion>;
