import { z } from "zod";
import { planName } from "../user/contract.ts";

// The quota service's contract (docs/identity.md): the gateway's quota step calls `check` before
// a metered request, chat reports each completion's usage, and a caller reads their own quota.

const userId = z.string().min(1).max(200);

export const checkBody = z
  .object({
    userId,
    plan: planName,
    requests: z.number().int().min(0).max(1_000_000).default(1),
  })
  .strict();

export const usageBody = z
  .object({
    usageId: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,200}$/, "must be 1-200 characters of A-Z a-z 0-9 _ . : -"),
    userId,
    plan: planName,
    model: z.string().min(1).max(200),
    promptTokens: z.number().int().min(0).max(100_000_000),
    completionTokens: z.number().int().min(0).max(100_000_000),
    cached: z.boolean(),
    at: z.iso.datetime({ offset: true }),
  })
  .strict();

export type Usage = z.output<typeof usageBody>;

/** One of the two quotas of a period, as every quota answer shows it. */
const allowance = z
  .object({
    limit: z.number().int(),
    used: z.number().int(),
    remaining: z.number().int().min(0),
    resetAt: z.iso.datetime(),
  })
  .strict();
export type Allowance = z.infer<typeof allowance>;

export const quotaStatus = z.object({ requests: allowance, tokens: allowance }).strict().meta({
  id: "Quota",
  description: "Today's requests and tokens: the limits, used, what is left",
});
export type QuotaStatus = z.infer<typeof quotaStatus>;

/** The topic billing consumes; an event's id is the usage's id, so duplicates are easy to drop. */
export const USAGE_TOPIC = "identity.usage";
export const USAGE_EVENT = "usage.recorded";
