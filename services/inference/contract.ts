import { z } from "zod";
import { backends, modelConfig } from "../model/contract.ts";

// The inference service's internal API, shared with its caller (chat). A generation is always
// streamed back as JSON lines (one `GenerationEvent` each), so that one code path serves both
// streamed and whole answers; the caller assembles a whole answer itself.

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
    messages: z.array(z.object({ role: z.string().min(1), content: z.string() }).strict()).min(1),
    temperature: z.number().min(0).max(2),
    topP: z.number().gt(0).max(1),
    maxTokens: z.number().int().min(1),
    seed: z.number().int().optional(),
    stop: z.array(z.string().min(1)).max(16).optional(),
  })
  .strict();

export type GenerateRequest = z.infer<typeof generateBody>;

export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

export type FinishReason = "stop" | "length";

export type GenerationEvent =
  | { type: "delta"; text: string }
  | { type: "done"; finishReason: FinishReason; usage: Usage }
  /** A failure after the answer began: the status it would have had, and an OpenAI-style error. */
  | { type: "error"; status: number; code: string; message: string };

export const NDJSON = "application/x-ndjson";
