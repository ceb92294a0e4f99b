import type { RequestHandler } from "express";
import type { Registry } from "prom-client";
import { ApiError, badRequest, unavailable } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import { openDb } from "../shared/sql/db.ts";
import { migrate } from "../shared/sql/migrate.ts";
import {
  buildParked,
  parkedRequestSchema,
  type DeadLetterQueue,
  type ParkResult,
} from "./dlqModel.ts";
import { DLQ_MIGRATIONS, sqlDlq } from "./dlqSqlStore.ts";
import { kafkaClientOptions } from "../shared/kafkaClient.ts";

// The dead-letter queue as the gateway uses it: the shapes and rules in dlqModel.ts, the two
// stores in dlqSqlStore.ts and dlqKafkaStore.ts, and here how a tier opens one, parks a write
// from its fallback handler, and lists it for operators.

export * from "./dlqModel.ts";
export { DLQ_MIGRATIONS, sqlDlq } from "./dlqSqlStore.ts";

/** A write as the gateway's fallback hands it over: headers as sent upstream, body in base64. */
export interface WriteToPark {
  idempotencyKey: string;
  principal: string;
  service: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * The DLQ as the gateway's fallback uses it. A key that holds another request is the caller's
 * error, answered 409 as the service itself would; a store that cannot keep the write is a 503,
 * since a 202 would promise what cannot be kept.
 */
export function writeQueueOf(dlq: DeadLetterQueue, logger: Logger, secret: string) {
  return {
    async park(write: WriteToPark): Promise<{ trackingId: string; duplicate: boolean }> {
      const parsed = parkedRequestSchema.safeParse(
        buildParked({
          ...write,
          domain: dlq.domain,
          body: Buffer.from(write.body, "base64"),
          secret,
        }),
      );
      if (!parsed.success) {
        const field = String(parsed.error.issues[0]?.path[0] ?? "request");
        throw badRequest(
          "not_parkable",
          field === "idempotencyKey"
            ? "Idempotency-Key must be 1 to 255 printable ASCII characters without spaces"
            : `this request cannot be queued (${field}: ${parsed.error.issues[0]?.message})`,
          field === "idempotencyKey" ? "Idempotency-Key" : field,
        );
      }
      const req = parsed.data;
      let result: ParkResult;
      try {
        result = await dlq.park(req);
      } catch (err) {
        logger.error({ err, trackingId: req.trackingId }, "dlq: cannot park a write");
        throw unavailable(
          "dlq_unavailable",
          `${write.service} is unavailable and the write cannot be queued now; retry later`,
        );
      }
      if (result.status === "conflict") {
        throw new ApiError(
          409,
          "invalid_request_error",
          "idempotency_key_reused",
          "this Idempotency-Key was used for a different request",
          "Idempotency-Key",
        );
      }
      return { trackingId: result.trackingId, duplicate: result.status === "duplicate" };
    },
  };
}

export interface OpenDlqArgs {
  domain: string;
  registry: Registry;
  logger: Logger;
  /** Kafka when set (the deployed default); else the SQL store. */
  kafkaBrokers?: string;
  /** The Kafka store's shared dedupe. */
  redisUrl?: string;
  /** The SQL store: PostgreSQL when set, else SQLite under `dataDir`. */
  databaseUrl?: string;
  dataDir: string;
}

/** The tier's DLQ, from the gateway's environment (KAFKA_BROKERS, REDIS_URL, DATABASE_URL, DATA_DIR). */
export async function openDeadLetterQueue(args: OpenDlqArgs): Promise<DeadLetterQueue> {
  if (args.kafkaBrokers) {
    // Imported here: the Kafka and Redis clients load only in a tier that is given Kafka.
    const { kafkaDlq } = await import("./dlqKafkaStore.ts");
    return kafkaDlq({
      domain: args.domain,
      kafka: kafkaClientOptions(args.kafkaBrokers),
      redisUrl: args.redisUrl,
      registry: args.registry,
      logger: args.logger,
    });
  }
  // Its own database (a file of its own in SQLite, a schema of its own in PostgreSQL), shared by
  // the tier's replicas, so a parked write survives a gateway restart.
  const db = await openDb({
    service: "gateway-dlq",
    domain: args.domain,
    databaseUrl: args.databaseUrl,
    dataDir: args.dataDir,
  });
  await migrate(db, "gateway-dlq", DLQ_MIGRATIONS);
  return sqlDlq({ db, domain: args.domain, registry: args.registry, logger: args.logger });
}

/** `GET` handler of the admin listing: depth and the latest poison messages (`?limit=`, max 500). */
export function dlqAdminHandler(dlq: DeadLetterQueue): RequestHandler {
  return async (req, res, next) => {
    try {
      const limit = Math.min(500, Math.max(1, Number(req.query["limit"] ?? 100) || 100));
      const [depth, poison] = await Promise.all([dlq.depth(), dlq.poison(limit)]);
      res.json({ object: "dlq", domain: dlq.domain, store: dlq.kind, depth, poison });
    } catch (err) {
      next(err);
    }
  };
}
