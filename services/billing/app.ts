import type { Express } from "express";
import type { Registry } from "prom-client";
import { listPoison, startConsumer, type RunningConsumer } from "../shared/consumer.ts";
import { badRequest } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import { principalFrom, requireAdmin } from "../shared/principal.ts";
import type { Db } from "../shared/sql/db.ts";
import { parse } from "../shared/validation.ts";
import {
  USAGE_TOPIC,
  poisonQuery,
  usageEventData,
  usageQuery,
  userIdParam,
  type UsageEventData,
} from "./contract.ts";
import { DEFAULT_PRICE, PRICES } from "./prices.ts";
import type { BillingStore } from "./store.ts";

const currentMonth = () => new Date().toISOString().slice(0, 7);

/** The billing API: a caller's own usage, any user's for an admin, the prices, the poison. */
export function billingRoutes(app: Express, store: BillingStore, db: Db): void {
  app.get("/v1/billing/usage", async (req, res) => {
    res.locals.route = "/v1/billing";
    const { userId } = principalFrom(req.headers);
    const { period } = parse(usageQuery, req.query, "query");
    res.json(await store.report(userId, period ?? currentMonth()));
  });

  app.get("/v1/billing/users/:userId/usage", async (req, res) => {
    res.locals.route = "/v1/billing";
    requireAdmin(req.headers);
    const userId = parse(userIdParam, req.params.userId, "userId");
    const { period } = parse(usageQuery, req.query, "query");
    res.json(await store.report(userId, period ?? currentMonth()));
  });

  app.get("/v1/billing/prices", (req, res) => {
    res.locals.route = "/v1/billing";
    principalFrom(req.headers);
    if (Object.keys(req.query).length > 0)
      throw badRequest("invalid_parameter", "no query parameters here", "query");
    res.json({
      object: "billing.prices",
      currency: "USD",
      per: "1M tokens",
      models: PRICES,
      default: DEFAULT_PRICE,
    });
  });

  // Usage events billing could not apply: kept here for a person to look at, never dropped.
  app.get("/v1/billing/poison", async (req, res) => {
    res.locals.route = "/v1/billing";
    requireAdmin(req.headers);
    const { limit } = parse(poisonQuery, req.query, "query");
    res.json({ object: "list", data: await listPoison(db, limit) });
  });
}

/** Consumes `identity.usage` into the totals: Kafka with brokers, else the local event file. */
export function startBillingConsumer(opts: {
  db: Db;
  store: BillingStore;
  logger: Logger;
  registry: Registry;
  kafkaBrokers?: string;
  eventsDir: string;
}): RunningConsumer {
  return startConsumer<UsageEventData>({
    group: "billing",
    topics: [USAGE_TOPIC],
    db: opts.db,
    logger: opts.logger,
    registry: opts.registry,
    kafkaBrokers: opts.kafkaBrokers,
    eventsDir: opts.eventsDir,
    decode: (_topic, event) => usageEventData.parse(event.data),
    apply: (tx, usages) => opts.store.add(tx, usages),
  });
}
