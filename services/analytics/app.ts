import type { Express } from "express";
import type { Registry } from "prom-client";
import { listPoison, startConsumer, type RunningConsumer } from "../shared/consumer.ts";
import type { Logger } from "../shared/logger.ts";
import { requireAdmin } from "../shared/principal.ts";
import type { Db } from "../shared/sql/db.ts";
import { parse } from "../shared/validation.ts";
import {
  MAX_WINDOW_DAYS,
  ORDERS_TOPIC,
  REQUESTS_TOPIC,
  USAGE_TOPIC,
  VIDEO_PLAYS_TOPIC,
  poisonQuery,
  requestsQuery,
  videoStatsQuery,
  windowQuery,
} from "./contract.ts";
import { factOf, type AnalyticsStore, type Fact } from "./store.ts";

/**
 * The analytics API. Its figures are the whole platform's (every caller's requests, completions
 * and orders), so every query needs an admin key.
 */
export function analyticsRoutes(app: Express, store: AnalyticsStore, db: Db): void {
  app.get("/v1/analytics/requests", async (req, res) => {
    res.locals.route = "/v1/analytics";
    requireAdmin(req.headers);
    res.json(await store.requests(parse(requestsQuery, req.query, "query")));
  });

  app.get("/v1/analytics/usage", async (req, res) => {
    res.locals.route = "/v1/analytics";
    requireAdmin(req.headers);
    res.json(await store.usage(parse(windowQuery, req.query, "query")));
  });

  app.get("/v1/analytics/orders", async (req, res) => {
    res.locals.route = "/v1/analytics";
    requireAdmin(req.headers);
    res.json(await store.orders(parse(windowQuery, req.query, "query")));
  });

  // The video orchestrator's feedback (signed internal calls only; no public route reaches it).
  app.get("/internal/video-stats", async (req, res) => {
    const { user_id } = parse(videoStatsQuery, req.query, "query");
    res.json(await store.videoStats(user_id));
  });

  // Events analytics could not count: kept for a person to look at, never dropped.
  app.get("/v1/analytics/poison", async (req, res) => {
    res.locals.route = "/v1/analytics";
    requireAdmin(req.headers);
    const { limit } = parse(poisonQuery, req.query, "query");
    res.json({ object: "list", data: await listPoison(db, limit) });
  });
}

/**
 * Consumes the business domain's requests, usage and orders into facts (Kafka with brokers, else
 * the local event files), and prunes the facts no query window reaches.
 */
export function startAnalyticsConsumer(opts: {
  db: Db;
  store: AnalyticsStore;
  logger: Logger;
  registry: Registry;
  kafkaBrokers?: string;
  eventsDir: string;
}): RunningConsumer {
  const consumer = startConsumer<Fact>({
    group: "analytics",
    topics: [REQUESTS_TOPIC, USAGE_TOPIC, ORDERS_TOPIC, VIDEO_PLAYS_TOPIC],
    db: opts.db,
    logger: opts.logger,
    registry: opts.registry,
    kafkaBrokers: opts.kafkaBrokers,
    eventsDir: opts.eventsDir,
    decode: factOf,
    apply: (tx, facts) => opts.store.add(tx, facts),
    // Request events come by the thousand: larger batches, fewer transactions.
    batchSize: 500,
  });
  const prune = () =>
    opts.store
      .prune(new Date(Date.now() - (MAX_WINDOW_DAYS + 1) * 86_400_000))
      .catch((err: unknown) => opts.logger.warn({ err }, "analytics: pruning facts failed"));
  const pruner = setInterval(prune, 3_600_000);
  pruner.unref();
  return {
    async stop() {
      clearInterval(pruner);
      await consumer.stop();
    },
  };
}
