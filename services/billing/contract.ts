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

const count = z.number().int().min(0);

/** One line of a report: a model's sums, or all models' (which has no model name). */
const amounts = z
  .object({
    requests: count,
    cachedRequests: count,
    promptTokens: count,
    cachedPromptTokens: count,
    completionTokens: count,
    totalTokens: count,
    cost: z
      .string()
      .regex(/^-?\d+\.\d{9}$/)
      .meta({ description: "US dollars, exact to the nano-dollar, as a decimal string" }),
  })
  .strict();
const modelUsage = amounts.extend({ model: z.string() });
export type ModelUsage = z.infer<typeof modelUsage>;

export const usageReport = z
  .object({
    object: z.literal("billing.usage"),
    userId: z.string(),
    period,
    granularity: z.enum(["day", "month"]),
    currency: z.literal("USD"),
    models: z.array(modelUsage),
    total: amounts,
  })
  .strict()
  .meta({ id: "UsageReport", description: "A user's usage of a day or month and its price" });
export type UsageReport = z.infer<typeof usageReport>;

const price = z
  .object({
    inputCacheHit: z
      .number()
      .min(0)
      .meta({ description: "Per million prompt tokens answered from a cache" }),
    inputCacheMiss: z.number().min(0).meta({ description: "Per million prompt tokens otherwise" }),
    output: z.number().min(0).meta({ description: "Per million completion tokens" }),
  })
  .strict()
  .meta({ id: "Price", description: "A model's prices, in US dollars" });
export type Price = z.infer<typeof price>;

export const priceList = z
  .object({
    object: z.literal("billing.prices"),
    currency: z.literal("USD"),
    per: z.literal("1M tokens"),
    models: z.record(z.string(), price),
    /** What a model missing from `models` costs. */
    default: price,
  })
  .strict();
