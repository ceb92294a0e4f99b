import { z } from "zod";

// What billing reads and answers. The `identity.usage` events come from the quota service
// (services/quota/contract.ts): each is one completion's usage, with the usage's id as event id.
// The event is read leniently (fields added by the producer later are ignored); the fields billing
// needs are checked strictly, and an event without them is set aside as poison.

export const USAGE_TOPIC = "identity.usage";

export const usageEventData = z.object({
  usageId: z.string().min(1).max(200),
  userId: z.string().min(1).max(200),
  model: z.string().min(1).max(200),
  promptTokens: z.number().int().min(0).max(100_000_000),
  completionTokens: z.number().int().min(0).max(100_000_000),
  cached: z.boolean(),
  at: z.iso.datetime({ offset: true }),
});
export type UsageEventData = z.output<typeof usageEventData>;

/** A UTC day (`2026-05-14`) or month (`2026-05`) that exists in the calendar. */
export const period = z
  .string()
  .regex(/^\d{4}-(0[1-9]|1[0-2])(-\d{2})?$/, "must be YYYY-MM or YYYY-MM-DD")
  .refine((p) => {
    if (p.length === 7) return true;
    const day = new Date(`${p}T00:00:00Z`);
    return !Number.isNaN(day.getTime()) && day.toISOString().startsWith(p);
  }, "is not a day of the calendar");

export const usageQuery = z
  .object({
    /** Default: the current month (UTC). */
    period: period.optional(),
  })
  .strict();

export const userIdParam = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_.:@-]+$/, "must be a user id");

export const poisonQuery = z
  .object({ limit: z.coerce.number().int().min(1).max(500).default(50) })
  .strict();

export interface ModelUsage {
  model: string;
  requests: number;
  cachedRequests: number;
  promptTokens: number;
  cachedPromptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** US dollars, exact to the nano-dollar, as a decimal string. */
  cost: string;
}

export interface UsageReport {
  object: "billing.usage";
  userId: string;
  period: string;
  granularity: "day" | "month";
  currency: "USD";
  models: ModelUsage[];
  total: Omit<ModelUsage, "model">;
}
