import { z } from "zod";

// What analytics reads and answers. It consumes three topics of the business domain:
// - business.requests: one event per request answered by the business gateway tier
//   (services/gateway/requestEvents.ts);
// - business.usage: one event per chat completion (services/chat/store.ts, `chat.usage`);
// - business.orders: `order.created` (services/orders/store.ts).
// Events are read leniently (new fields are ignored); the fields used are checked, and an event
// without them is set aside as poison. Event types analytics does not count are skipped.

export const REQUESTS_TOPIC = "business.requests";
export const USAGE_TOPIC = "business.usage";
export const ORDERS_TOPIC = "business.orders";
/** One event per request for a video's content (services/video/plays.ts): the feedback loop. */
export const VIDEO_PLAYS_TOPIC = "business.video-plays";
export const VIDEO_PLAYED_EVENT = "video.played";

export const videoPlayedData = z.object({
  userId: z.string().min(1).max(200),
  videoId: z.string().min(1).max(200),
  /** The scene length the video was made with (0: unknown). */
  sceneSeconds: z.number().min(0).max(60),
  durationSeconds: z.number().min(0).max(3_600),
  /** A request from the first byte starts a play; the rest continue one. */
  fromStart: z.boolean(),
  /** The seconds of video the bytes served stand for. */
  watchedSeconds: z.number().min(0).max(3_600),
});
export type VideoPlayed = z.infer<typeof videoPlayedData>;

/** `GET /internal/video-stats?user_id=`: what the video orchestrator adapts to. */
export const videoStatsQuery = z.object({ user_id: z.string().min(1).max(200) }).strict();

export const requestEventData = z.object({
  method: z.string().min(1).max(16),
  route: z.string().min(1).max(200),
  status: z.number().int().min(100).max(599),
  upstream: z.string().max(200).nullable(),
  decision: z.string().max(200).nullable(),
  latencyMs: z.number().min(0).max(86_400_000),
});

export const usageEventData = z.object({
  userId: z.string().min(1).max(200),
  model: z.string().min(1).max(200),
  promptTokens: z.number().int().min(0),
  completionTokens: z.number().int().min(0),
  cached: z.boolean(),
});

export const orderEventData = z.object({
  id: z.string().min(1).max(200),
  userId: z.string().min(1).max(200),
  quantity: z.number().int().min(0),
});

/** The longest window a query may cover; facts older than this are pruned. */
export const MAX_WINDOW_DAYS = 31;

const instant = z.iso.datetime({ offset: true }).transform((s) => new Date(s));

const windowFields = { from: instant.optional(), to: instant.optional() };

/** Fills in the default window (the hour up to now) and checks that it is one. */
function toWindow<Q extends { from?: Date; to?: Date }>(q: Q, ctx: z.RefinementCtx) {
  const to = q.to ?? new Date();
  const from = q.from ?? new Date(to.getTime() - 3_600_000);
  if (from >= to) {
    ctx.addIssue({ code: "custom", path: ["from"], message: "must be before to" });
    return z.NEVER;
  }
  if (to.getTime() - from.getTime() > MAX_WINDOW_DAYS * 86_400_000) {
    ctx.addIssue({
      code: "custom",
      path: ["from"],
      message: `the window may span at most ${MAX_WINDOW_DAYS} days`,
    });
    return z.NEVER;
  }
  return { ...q, from, to };
}

/** `from` and `to` (ISO 8601 with an offset, `to` excluded); default: the hour up to now. */
export const windowQuery = z.object(windowFields).strict().transform(toWindow);
export type Window = { from: Date; to: Date };

/** A window, and how many routes to rank (1 to 50, default 10). */
export const requestsQuery = z
  .object({ ...windowFields, top: z.coerce.number().int().min(1).max(50).default(10) })
  .strict()
  .transform(toWindow);

/** How many of the events analytics could not read to list (admins). */
export const poisonQuery = z
  .object({ limit: z.coerce.number().int().min(1).max(500).default(50) })
  .strict();

// The answers (published in the API's description and held to the real ones in tests).

const count = z.number().int().min(0);
const rate = z.number().min(0).max(1);
const answerWindow = z
  .object({ from: z.iso.datetime(), to: z.iso.datetime() })
  .strict()
  .meta({ description: "The window counted, `to` excluded" });
const latencies = z
  .object({ p50: z.number().min(0).nullable(), p95: z.number().min(0).nullable() })
  .strict()
  .meta({ description: "Nearest-rank percentiles in milliseconds; null without requests" });

export const requestsReport = z
  .object({
    object: z.literal("analytics.requests"),
    window: answerWindow,
    count,
    perSecond: z.number().min(0),
    errors: count,
    errorRate: rate,
    clientErrors: count,
    clientErrorRate: rate,
    latencyMs: latencies,
    decisions: z
      .record(z.string(), count)
      .meta({ description: "Requests by the gateway's decision (cache, rate limit...)" }),
    topRoutes: z.array(
      z
        .object({ route: z.string(), count, errors: count, errorRate: rate, latencyMs: latencies })
        .strict(),
    ),
  })
  .strict()
  .meta({ id: "RequestsReport", description: "Requests through the business tier in a window" });
export type RequestsReport = z.infer<typeof requestsReport>;

export const usageReport = z
  .object({
    object: z.literal("analytics.usage"),
    window: answerWindow,
    models: z.array(
      z
        .object({
          model: z.string(),
          requests: count,
          cachedRequests: count,
          promptTokens: count,
          completionTokens: count,
          totalTokens: count,
          users: count,
        })
        .strict(),
    ),
  })
  .strict()
  .meta({ id: "ChatUsageReport", description: "Chat completions in a window, per model" });
export type UsageReport = z.infer<typeof usageReport>;

export const ordersReport = z
  .object({
    object: z.literal("analytics.orders"),
    window: answerWindow,
    count,
    quantity: count,
    customers: count,
  })
  .strict()
  .meta({ id: "OrdersReport", description: "Orders created in a window" });
export type OrdersReport = z.infer<typeof ordersReport>;
