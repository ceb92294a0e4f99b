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
export interface Allowance {
  limit: number;
  used: number;
  remaining: number;
  resetAt: string;
}

export interface QuotaStatus {
  requests: Allowance;
  tokens: Allowance;
}

/** The topic billing consumes; an event's id is the usage's id, so duplicates are easy to drop. */
export const USAGE_TOPIC = "identity.usage";
export const USAGE_EVENT = "usage.recorded";
