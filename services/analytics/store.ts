import { CONSUMER_MIGRATION } from "../shared/consumer.ts";
import type { PlatformEvent } from "../shared/events.ts";
import type { Db } from "../shared/sql/db.ts";
import {
  MAX_WINDOW_DAYS,
  ORDERS_TOPIC,
  REQUESTS_TOPIC,
  USAGE_TOPIC,
  VIDEO_PLAYED_EVENT,
  VIDEO_PLAYS_TOPIC,
  orderEventData,
  videoPlayedData,
  requestEventData,
  usageEventData,
  type OrdersReport,
  type RequestsReport,
  type UsageReport,
  type Window,
} from "./contract.ts";

// One row per fact (a request, a completion's usage, an order), kept for the longest query
// window: a window's counts, rates and exact percentiles (nearest rank) are then plain SQL on
// both engines. Facts are written in the transaction that records their events as applied
// (services/shared/consumer.ts), so a redelivered event is not counted twice.

export const migrations = [
  `
CREATE TABLE request_facts (
  at TEXT NOT NULL,
  method TEXT NOT NULL,
  route TEXT NOT NULL,
  status INTEGER NOT NULL,
  upstream TEXT,
  decision TEXT,
  latency_ms DOUBLE PRECISION NOT NULL
);
CREATE INDEX request_facts_at ON request_facts (at);
CREATE INDEX request_facts_route_at ON request_facts (route, at);
CREATE TABLE usage_facts (
  at TEXT NOT NULL,
  user_id TEXT NOT NULL,
  model TEXT NOT NULL,
  prompt_tokens BIGINT NOT NULL,
  completion_tokens BIGINT NOT NULL,
  cached INTEGER NOT NULL
);
CREATE INDEX usage_facts_at ON usage_facts (at);
CREATE TABLE order_facts (
  at TEXT NOT NULL,
  order_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  quantity BIGINT NOT NULL
);
CREATE INDEX order_facts_at ON order_facts (at);
`,
  CONSUMER_MIGRATION,
  // Plays of delivered videos (services/video), which the orchestrator adapts to.
  `
CREATE TABLE play_facts (
  at TEXT NOT NULL,
  user_id TEXT NOT NULL,
  video_id TEXT NOT NULL,
  scene_seconds DOUBLE PRECISION NOT NULL,
  duration_seconds DOUBLE PRECISION NOT NULL,
  from_start INTEGER NOT NULL,
  watched_seconds DOUBLE PRECISION NOT NULL
);
CREATE INDEX play_facts_user ON play_facts (user_id, at);
`,
];

const REQUEST_EVENT = "request.completed";
const USAGE_EVENT = "chat.usage";
const ORDER_EVENT = "order.created";

export type Fact =
  | { kind: "request"; row: unknown[] }
  | { kind: "usage"; row: unknown[] }
  | { kind: "order"; row: unknown[] }
  | { kind: "play"; row: unknown[] }
  | { kind: "skipped" };

/** An event as the row it adds; throws (poison) when the fields analytics counts are missing. */
export function factOf(topic: string, event: PlatformEvent): Fact {
  const time = new Date(event.at);
  if (Number.isNaN(time.getTime())) throw new Error(`at: not a time (${event.at})`);
  const at = time.toISOString();
  if (topic === REQUESTS_TOPIC && event.type === REQUEST_EVENT) {
    const d = requestEventData.parse(event.data);
    return {
      kind: "request",
      row: [at, d.method, d.route, d.status, d.upstream, d.decision, d.latencyMs],
    };
  }
  if (topic === USAGE_TOPIC && event.type === USAGE_EVENT) {
    const d = usageEventData.parse(event.data);
    return {
      kind: "usage",
      row: [at, d.userId, d.model, d.promptTokens, d.completionTokens, d.cached ? 1 : 0],
    };
  }
  if (topic === VIDEO_PLAYS_TOPIC && event.type === VIDEO_PLAYED_EVENT) {
    const d = videoPlayedData.parse(event.data);
    return {
      kind: "play",
      row: [
        at,
        d.userId,
        d.videoId,
        d.sceneSeconds,
        d.durationSeconds,
        d.fromStart ? 1 : 0,
        d.watchedSeconds,
      ],
    };
  }
  if (topic === ORDERS_TOPIC && event.type === ORDER_EVENT) {
    const d = orderEventData.parse(event.data);
    return { kind: "order", row: [at, d.id, d.userId, d.quantity] };
  }
  return { kind: "skipped" };
}

const TABLES = {
  request: "request_facts (at, method, route, status, upstream, decision, latency_ms)",
  usage: "usage_facts (at, user_id, model, prompt_tokens, completion_tokens, cached)",
  order: "order_facts (at, order_id, user_id, quantity)",
  play: "play_facts (at, user_id, video_id, scene_seconds, duration_seconds, from_start, watched_seconds)",
} as const;

type Num = number | string | null;
const num = (v: Num | undefined) => Number(v ?? 0);

export function analyticsStore(db: Db) {
  /** Nearest-rank percentile of the latencies in the window (of one route, if given). */
  const percentile = async (w: Window, q: number, count: number, route?: string) => {
    if (count === 0) return null;
    const rank = Math.max(1, Math.ceil(q * count));
    const [row] = await db.query<{ latency_ms: Num }>(
      `SELECT latency_ms FROM request_facts WHERE at >= $1 AND at < $2${route === undefined ? "" : " AND route = $4"}
       ORDER BY latency_ms LIMIT 1 OFFSET $3`,
      [w.from.toISOString(), w.to.toISOString(), rank - 1, ...(route === undefined ? [] : [route])],
    );
    return num(row?.latency_ms);
  };
  const range = (w: Window) => [w.from.toISOString(), w.to.toISOString()];
  const windowOf = (w: Window) => ({ from: w.from.toISOString(), to: w.to.toISOString() });

  return {
    /** Adds the facts of a batch of new events, in the consumer's transaction. */
    async add(tx: Db, facts: readonly Fact[]): Promise<void> {
      for (const kind of ["request", "usage", "order", "play"] as const) {
        const rows = facts.filter((f) => f.kind === kind).map((f) => (f as { row: unknown[] }).row);
        if (rows.length === 0) continue;
        const width = rows[0]!.length;
        await tx.query(
          `INSERT INTO ${TABLES[kind]} VALUES ${rows
            .map(
              (_, i) =>
                `(${Array.from({ length: width }, (_, j) => `$${i * width + j + 1}`).join(", ")})`,
            )
            .join(", ")}`,
          rows.flat(),
        );
      }
    },

    /** Requests in the window: volume, error rates, latency percentiles, decisions, top routes. */
    async requests(w: Window & { top: number }): Promise<RequestsReport> {
      const [totals] = await db.query<{ n: Num; errors: Num; client_errors: Num }>(
        `SELECT COUNT(*) AS n,
           SUM(CASE WHEN status >= 500 THEN 1 ELSE 0 END) AS errors,
           SUM(CASE WHEN status >= 400 AND status < 500 THEN 1 ELSE 0 END) AS client_errors
         FROM request_facts WHERE at >= $1 AND at < $2`,
        range(w),
      );
      const count = num(totals?.n);
      const errors = num(totals?.errors);
      const clientErrors = num(totals?.client_errors);
      const decisions = await db.query<{ decision: string; n: Num }>(
        `SELECT decision, COUNT(*) AS n FROM request_facts
         WHERE at >= $1 AND at < $2 AND decision IS NOT NULL GROUP BY decision ORDER BY decision`,
        range(w),
      );
      const routes = await db.query<{ route: string; n: Num; errors: Num }>(
        `SELECT route, COUNT(*) AS n, SUM(CASE WHEN status >= 500 THEN 1 ELSE 0 END) AS errors
         FROM request_facts WHERE at >= $1 AND at < $2
         GROUP BY route ORDER BY COUNT(*) DESC, route LIMIT $3`,
        [...range(w), w.top],
      );
      const seconds = (w.to.getTime() - w.from.getTime()) / 1000;
      return {
        object: "analytics.requests",
        window: windowOf(w),
        count,
        perSecond: round(count / seconds),
        errors,
        errorRate: count ? round(errors / count) : 0,
        clientErrors,
        clientErrorRate: count ? round(clientErrors / count) : 0,
        latencyMs: { p50: await percentile(w, 0.5, count), p95: await percentile(w, 0.95, count) },
        decisions: Object.fromEntries(decisions.map((d) => [d.decision, num(d.n)])),
        topRoutes: await Promise.all(
          routes.map(async (r) => {
            const n = num(r.n);
            return {
              route: r.route,
              count: n,
              errors: num(r.errors),
              errorRate: round(num(r.errors) / n),
              latencyMs: {
                p50: await percentile(w, 0.5, n, r.route),
                p95: await percentile(w, 0.95, n, r.route),
              },
            };
          }),
        ),
      };
    },

    /** Completions in the window, per model: requests, cache hits, tokens, distinct users. */
    async usage(w: Window): Promise<UsageReport> {
      const rows = await db.query<{
        model: string;
        n: Num;
        cached: Num;
        prompt: Num;
        completion: Num;
        users: Num;
      }>(
        `SELECT model, COUNT(*) AS n, SUM(cached) AS cached, SUM(prompt_tokens) AS prompt,
           SUM(completion_tokens) AS completion, COUNT(DISTINCT user_id) AS users
         FROM usage_facts WHERE at >= $1 AND at < $2 GROUP BY model ORDER BY model`,
        range(w),
      );
      return {
        object: "analytics.usage",
        window: windowOf(w),
        models: rows.map((r) => ({
          model: r.model,
          requests: num(r.n),
          cachedRequests: num(r.cached),
          promptTokens: num(r.prompt),
          completionTokens: num(r.completion),
          totalTokens: num(r.prompt) + num(r.completion),
          users: num(r.users),
        })),
      };
    },

    /** Orders created in the window: how many, how many items, how many customers. */
    async orders(w: Window): Promise<OrdersReport> {
      const [row] = await db.query<{ n: Num; quantity: Num; customers: Num }>(
        `SELECT COUNT(*) AS n, SUM(quantity) AS quantity, COUNT(DISTINCT user_id) AS customers
         FROM order_facts WHERE at >= $1 AND at < $2`,
        range(w),
      );
      return {
        object: "analytics.orders",
        window: windowOf(w),
        count: num(row?.n),
        quantity: num(row?.quantity),
        customers: num(row?.customers),
      };
    },

    /** Drops facts older than `before`, which no query window reaches any more. */
    /**
     * One user's video plays by the scene length of the video (plays, and the share of each
     * video watched: watched seconds over plays x duration, at most 1), and their chat tokens per
     * day over the last seven days, for a chart scene.
     */
    async videoStats(userId: string, now = new Date()) {
      const since = new Date(now.getTime() - MAX_WINDOW_DAYS * 86_400_000).toISOString();
      const rows = await db.query<{
        scene_seconds: Num;
        videos: Num;
        plays: Num;
        watched: Num;
        owed: Num;
      }>(
        `SELECT scene_seconds, COUNT(DISTINCT video_id) AS videos, SUM(from_start) AS plays,
           SUM(watched_seconds) AS watched, SUM(from_start * duration_seconds) AS owed
         FROM play_facts WHERE user_id = $1 AND at >= $2 AND scene_seconds > 0
         GROUP BY scene_seconds ORDER BY scene_seconds`,
        [userId, since],
      );
      const week = new Date(now.getTime() - 6 * 86_400_000);
      week.setUTCHours(0, 0, 0, 0);
      const tokens = await db.query<{ day: string; tokens: Num }>(
        `SELECT SUBSTR(at, 1, 10) AS day, SUM(prompt_tokens + completion_tokens) AS tokens
         FROM usage_facts WHERE user_id = $1 AND at >= $2 GROUP BY SUBSTR(at, 1, 10)`,
        [userId, week.toISOString()],
      );
      const byDay = new Map(tokens.map((t) => [t.day, num(t.tokens)]));
      return {
        object: "analytics.video_stats",
        by_scene_seconds: rows.map((r) => ({
          scene_seconds: num(r.scene_seconds),
          videos: num(r.videos),
          plays: num(r.plays),
          watch_ratio: num(r.owed) > 0 ? round(Math.min(1, num(r.watched) / num(r.owed))) : 0,
        })),
        tokens_by_day: Array.from({ length: 7 }, (_, i) => {
          const day = new Date(week.getTime() + i * 86_400_000).toISOString().slice(0, 10);
          return { day, tokens: byDay.get(day) ?? 0 };
        }),
      };
    },

    async prune(before: Date): Promise<void> {
      for (const table of ["request_facts", "usage_facts", "order_facts", "play_facts"]) {
        await db.query(`DELETE FROM ${table} WHERE at < $1`, [before.toISOString()]);
      }
    },
  };
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;

export type AnalyticsStore = ReturnType<typeof analyticsStore>;
