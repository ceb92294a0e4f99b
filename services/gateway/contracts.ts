import type { z } from "zod";
import { createArticleBody, updateArticleBody } from "../articles/contract.ts";
import { chatCompletionBody } from "../chat/contract.ts";
import { createOrderBody } from "../orders/contract.ts";

/**
 * JSON body schemas the gateway enforces per route (method + route prefix), so that malformed
 * writes stop at the edge. A route without an entry gets the generic checks only (size, content
 * type, well-formed JSON); the service validates again in any case.
 */
export const bodySchemas: Record<string, z.ZodType> = {
  "POST /v1/orders": createOrderBody,
  "POST /v1/articles": createArticleBody,
  "PATCH /v1/articles": updateArticleBody,
  // Keyed by route prefix: /v1/chat/completions is the one POST under /v1/chat.
  "POST /v1/chat": chatCompletionBody,
};
