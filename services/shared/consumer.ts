import { randomUUID } from "node:crypto";
import { open, stat } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import type { Message, MessagesStream } from "@platformatic/kafka";
import { Counter, Gauge, type Registry } from "prom-client";
import { z } from "zod";
import { eventsDirOf, type PlatformEvent } from "./events.ts";
import { kafkaClientOptions } from "./kafkaClient.ts";
import type { Logger } from "./logger.ts";
import type { PoisonedEvent } from "./poison.ts";
import type { ServiceDeps } from "./service.ts";
import { envKey } from "../../platform/runtimeEnv.ts";
import type { Db } from "./sql/db.ts";

// A service's consumer of domain events, at least once in, exactly once in effect: the ids of the
// events it applied are recorded in the service's own database in the same transaction as their
// effect, so a redelivered event (the outbox may publish twice, a rebalance replays what was not
// committed) finds its id there and changes nothing. Offsets move only once a batch's outcome is
// durable. An event that cannot be applied (malformed, or failing alone after retries) is set
// aside in `consumer_poison`, where it stays visible, and the partition moves on.
//
// With Kafka (KAFKA_BROKERS) each service is one consumer group, so each partition is read by one
// replica. Without it the publishers append to JSON-lines files (events.ts `fileBus`); the
// consumer then tails those files, one replica at a time per file (a lease in the database), and
// keeps its byte position in the database.

export const CONSUMER_MIGRATION = `
CREATE TABLE consumed_events (
  topic TEXT NOT NULL,
  event_id TEXT NOT NULL,
  consumed_at TEXT NOT NULL,
  PRIMARY KEY (topic, event_id)
);
CREATE INDEX consumed_events_at ON consumed_events (consumed_at);
CREATE TABLE consumer_poison (
  id TEXT PRIMARY KEY,
  topic TEXT NOT NULL,
  position TEXT NOT NULL,
  event_id TEXT,
  reason TEXT NOT NULL,
  payload TEXT NOT NULL,
  poisoned_at TEXT NOT NULL
);
CREATE INDEX consumer_poison_at ON consumer_poison (poisoned_at);
CREATE TABLE consumer_file_positions (
  topic TEXT PRIMARY KEY,
  position INTEGER NOT NULL,
  holder TEXT,
  lease_until TEXT NOT NULL
);
`;

const eventSchema = z.object({
  id: z.string().min(1).max(200),
  type: z.string().min(1).max(200),
  at: z.string().min(1).max(64),
  data: z.unknown(),
});

/** One message as read from Kafka or from an event file. */
export interface RawRecord {
  topic: string;
  /** `partition:offset` (Kafka) or the byte offset of the line (file), for the poison table. */
  position: string;
  value: string;
}

export interface ConsumerArgs<T> {
  /** The consumer group: the service's name, so that its replicas share the partitions. */
  group: string;
  topics: readonly string[];
  db: Db;
  logger: Logger;
  registry: Registry;
  /** Kafka's brokers; absent: the JSON-lines files under `eventsDir`. */
  kafkaBrokers?: string;
  /** Where the file bus writes (`${DATA_DIR}/events`). */
  eventsDir: string;
  /** What `apply` needs from an event; a throw marks the event poison (no retry mends it). */
  decode: (topic: string, event: PlatformEvent) => T;
  /** The effect of the new events of a batch, in the transaction that records them as applied. */
  apply: (tx: Db, items: readonly T[]) => Promise<void>;
  /** Events per batch (one transaction). Default 200. */
  batchSize?: number;
  /** Tries of one event alone before it is set aside. Default 3. */
  maxAttempts?: number;
  /** How often an event file is polled. Default 500 ms. */
  pollMs?: number;
  /** How long applied ids are kept for dedupe; Kafka keeps messages 7 days by default. Default 14. */
  dedupeDays?: number;
  /** Partitions of the topics the consumer creates when missing. Default 3. */
  partitions?: number;
}

export interface RunningConsumer {
  /** Finishes the batch in hand, commits it, leaves the group. */
  stop(): Promise<void>;
}

export interface ConsumerMetrics {
  events: Counter<"group" | "topic" | "outcome">;
  failures: Counter<"group" | "topic">;
  lag: Gauge<"group" | "topic" | "unit">;
}

/** The consumer's metrics on `registry`, created once per registry (a service may run several). */
export function consumerMetrics(registry: Registry): ConsumerMetrics {
  const existing = registry.getSingleMetric("consumer_events_total");
  if (existing) {
    return {
      events: existing as ConsumerMetrics["events"],
      failures: registry.getSingleMetric("consumer_failures_total") as ConsumerMetrics["failures"],
      lag: registry.getSingleMetric("consumer_lag") as ConsumerMetrics["lag"],
    };
  }
  return {
    events: new Counter({
      name: "consumer_events_total",
      help: "Events consumed, by outcome: applied, duplicate (already applied), poison (set aside)",
      labelNames: ["group", "topic", "outcome"] as const,
      registers: [registry],
    }),
    failures: new Counter({
      name: "consumer_failures_total",
      help: "Failed attempts to apply a batch or a single event (each retried or set aside)",
      labelNames: ["group", "topic"] as const,
      registers: [registry],
    }),
    lag: new Gauge({
      name: "consumer_lag",
      help: "How far behind the consumer is: messages (Kafka) or bytes (event file)",
      labelNames: ["group", "topic", "unit"] as const,
      registers: [registry],
    }),
  };
}

/** The events set aside, newest first. */
export async function listPoison(db: Db, limit = 100): Promise<PoisonedEvent[]> {
  const rows = await db.query<{
    topic: string;
    position: string;
    event_id: string | null;
    reason: string;
    payload: string;
    poisoned_at: string;
  }>(
    "SELECT topic, position, event_id, reason, payload, poisoned_at FROM consumer_poison ORDER BY poisoned_at DESC, id LIMIT $1",
    [limit],
  );
  return rows.map((r) => ({
    topic: r.topic,
    position: r.position,
    eventId: r.event_id,
    reason: r.reason,
    payload: r.payload,
    poisonedAt: r.poisoned_at,
  }));
}

/** Forgets applied ids older than `before`: no redelivery can come from that far back. */
export async function pruneConsumed(db: Db, before: Date): Promise<number> {
  const rows = await db.query<{ event_id: string }>(
    "DELETE FROM consumed_events WHERE consumed_at < $1 RETURNING event_id",
    [before.toISOString()],
  );
  return rows.length;
}

function describe(err: unknown): string {
  if (err instanceof z.ZodError) {
    return err.issues.map((i) => `${i.path.join(".") || "value"}: ${i.message}`).join("; ");
  }
  return (err as Error).message;
}

type Decoded<T> = { record: RawRecord; event: PlatformEvent; item: T };

/**
 * Makes the outcome of `records` durable: each is applied once, found a duplicate, or set aside.
 * Resolves only then, so the caller may move its offset; throws when nothing could be decided
 * (the database is away), so that the batch comes again.
 */
export async function settleBatch<T>(
  args: Pick<ConsumerArgs<T>, "group" | "db" | "logger" | "decode" | "apply" | "maxAttempts"> & {
    metrics: ConsumerMetrics;
  },
  records: readonly RawRecord[],
): Promise<void> {
  const { group, db, logger, metrics } = args;
  const maxAttempts = args.maxAttempts ?? 3;
  const poison = async (record: RawRecord, eventId: string | null, reason: string) => {
    await db.query(
      `INSERT INTO consumer_poison (id, topic, position, event_id, reason, payload, poisoned_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
      [
        `${record.topic}@${record.position}`,
        record.topic,
        record.position,
        eventId,
        reason.slice(0, 1000),
        record.value.slice(0, 100_000),
        new Date().toISOString(),
      ],
    );
    metrics.events.inc({ group, topic: record.topic, outcome: "poison" });
    logger.warn(
      { topic: record.topic, position: record.position, eventId, reason },
      "consumer: event set aside as poison",
    );
  };

  const decoded: Decoded<T>[] = [];
  for (const record of records) {
    let event: PlatformEvent | undefined;
    try {
      const parsed = eventSchema.safeParse(JSON.parse(record.value));
      if (!parsed.success) throw new Error(`not an event: ${describe(parsed.error)}`);
      event = parsed.data;
      decoded.push({ record, event, item: args.decode(record.topic, event) });
    } catch (err) {
      await poison(record, event?.id ?? null, `undecodable: ${describe(err)}`);
    }
  }

  /** One transaction: record the ids, apply the new ones. Returns the outcomes to count. */
  const applyAll = (batch: readonly Decoded<T>[]) =>
    db.transaction(async (tx) => {
      // The first copy of each event in the batch; one statement records them all and returns
      // those not recorded before.
      const firsts = new Map<string, Decoded<T>>();
      for (const d of batch) {
        const k = `${d.record.topic}\n${d.event.id}`;
        if (!firsts.has(k)) firsts.set(k, d);
      }
      const now = new Date().toISOString();
      const candidates = [...firsts.values()];
      const inserted = await tx.query<{ topic: string; event_id: string }>(
        `INSERT INTO consumed_events (topic, event_id, consumed_at) VALUES ${candidates
          .map((_, i) => `($${3 * i + 1}, $${3 * i + 2}, $${3 * i + 3})`)
          .join(", ")}
         ON CONFLICT (topic, event_id) DO NOTHING RETURNING topic, event_id`,
        candidates.flatMap((d) => [d.record.topic, d.event.id, now]),
      );
      const fresh = inserted.map((r) => firsts.get(`${r.topic}\n${r.event_id}`)!);
      if (fresh.length > 0)
        await args.apply(
          tx,
          fresh.map((d) => d.item),
        );
      return new Set(fresh);
    });

  const count = (batch: readonly Decoded<T>[], fresh: Set<Decoded<T>>) => {
    for (const d of batch) {
      metrics.events.inc({
        group,
        topic: d.record.topic,
        outcome: fresh.has(d) ? "applied" : "duplicate",
      });
    }
  };

  if (decoded.length === 0) return;
  try {
    count(decoded, await applyAll(decoded));
    return;
  } catch (err) {
    metrics.failures.inc({ group, topic: decoded[0]!.record.topic });
    logger.warn({ err, events: decoded.length }, "consumer: batch failed; applying one by one");
  }
  // One by one, so that a single bad event does not hold back the others.
  for (const d of decoded) {
    let lastError: unknown;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      try {
        count([d], await applyAll([d]));
        lastError = undefined;
        break;
      } catch (err) {
        lastError = err;
        metrics.failures.inc({ group, topic: d.record.topic });
        if (attempt < maxAttempts) await sleep(50 * 2 ** attempt);
      }
    }
    if (lastError === undefined) continue;
    // A database that is away is no fault of the event: give up the batch, keep the offset.
    if (!(await db.ping())) throw lastError;
    await poison(d.record, d.event.id, `apply failed: ${describe(lastError)}`);
  }
}

/** Starts consuming in the background: Kafka when brokers are given, else the event files. */
/** What a consumer of a service takes from the service: its store, logs, metrics and bus. */
export function consumerDeps(
  deps: ServiceDeps,
): Pick<ConsumerArgs<unknown>, "db" | "logger" | "registry" | "kafkaBrokers" | "eventsDir"> {
  return {
    db: deps.db,
    logger: deps.logger,
    registry: deps.metrics.registry,
    kafkaBrokers: deps.env[envKey.kafkaBrokers],
    eventsDir: eventsDirOf(deps.dataDir),
  };
}

export function startConsumer<T>(args: ConsumerArgs<T>): RunningConsumer {
  const metrics = consumerMetrics(args.registry);
  const stop = new AbortController();
  const settle = (records: readonly RawRecord[]) => settleBatch({ ...args, metrics }, records);
  const run = args.kafkaBrokers
    ? kafkaLoop(args, args.kafkaBrokers, metrics, settle, stop.signal)
    : fileLoop(args, metrics, settle, stop.signal);
  const dedupeMs = (args.dedupeDays ?? 14) * 86_400_000;
  const pruner = setInterval(() => {
    pruneConsumed(args.db, new Date(Date.now() - dedupeMs)).catch((err: unknown) =>
      args.logger.warn({ err }, "consumer: pruning applied ids failed"),
    );
  }, 3_600_000);
  pruner.unref();
  return {
    async stop() {
      clearInterval(pruner);
      stop.abort();
      await run;
    },
  };
}

const backoff = (failures: number) => Math.min(10_000, 250 * 2 ** Math.min(failures, 6));

async function kafkaLoop<T>(
  args: ConsumerArgs<T>,
  brokers: string,
  metrics: ConsumerMetrics,
  settle: (records: readonly RawRecord[]) => Promise<void>,
  signal: AbortSignal,
): Promise<void> {
  const { group, logger } = args;
  const connection = kafkaClientOptions(brokers);
  // Imported here: a consumer of event files never loads the Kafka client.
  const [{ Consumer, MessagesStreamModes, stringDeserializers }, { createTopics }] =
    await Promise.all([import("@platformatic/kafka"), import("./kafkaTopics.ts")]);
  const topics = [...args.topics];
  let topicsReady = false;
  const ensureTopics = async () => {
    if (topicsReady) return;
    await createTopics(brokers, topics, {
      partitions: args.partitions,
      clientId: `${group}-consumer-admin`,
    });
    topicsReady = true;
  };

  const consumeOnce = async () => {
    await ensureTopics();
    const consumer = new Consumer({
      clientId: `${group}-consumer`,
      groupId: group,
      ...connection,
      deserializers: stringDeserializers,
      maxWaitTime: 500,
      autocommit: false,
    });
    consumer.on("consumer:lag", (lag) => {
      for (const [topic, partitions] of lag) {
        const behind = partitions.filter((l) => l >= 0n).reduce((a, b) => a + b, 0n);
        metrics.lag.set({ group, topic, unit: "messages" }, Number(behind));
      }
    });
    consumer.on("consumer:lag:error", () => undefined);
    let stream: MessagesStream<string, string, string, string> | undefined;
    try {
      stream = await consumer.consume({
        topics,
        // A new group starts from the beginning: events published before it first ran count too.
        mode: MessagesStreamModes.COMMITTED,
        fallbackMode: MessagesStreamModes.EARLIEST,
        autocommit: false,
      });
      consumer.startLagMonitoring({ topics }, 10_000);
      const batches = batchesOf(stream, args.batchSize ?? 200);
      for (;;) {
        const batch = await batches.next(signal);
        if (batch.length === 0) break;
        await settle(
          batch.map((m) => ({
            topic: m.topic,
            position: `${m.partition}:${m.offset}`,
            value: m.value ?? "",
          })),
        );
        // Committing a partition's last message commits all before it.
        const last = new Map<string, KafkaMessage>();
        for (const m of batch) last.set(`${m.topic}:${m.partition}`, m);
        await Promise.all(
          [...last.values()].map((m) =>
            Promise.resolve(m.commit()).catch((err: unknown) =>
              // Not fatal: the next commit covers it, or a rebalance redelivers and dedupe answers.
              logger.warn({ err, topic: m.topic }, "consumer: offset commit failed"),
            ),
          ),
        );
        if (signal.aborted) break;
      }
    } finally {
      consumer.stopLagMonitoring();
      await stream?.close().catch(() => undefined);
      await consumer.close().catch(() => undefined);
    }
  };

  for (let failures = 0; !signal.aborted; failures++) {
    try {
      await consumeOnce();
      failures = 0;
    } catch (err) {
      if (signal.aborted) break;
      logger.warn({ err, group }, "consumer: lost its Kafka consumer; restarting");
    }
    await sleep(backoff(failures), undefined, { signal }).catch(() => undefined);
  }
}

type KafkaMessage = Message<string, string, string, string>;

/**
 * The stream's messages in batches. The stream flows ('data') into a buffer that pauses it at
 * `max`, rather than being read() while paused: after a rebalance (a second replica joining the
 * group) a paused MessagesStream of @platformatic/kafka stopped fetching the partitions it
 * still held, and their messages waited there until the next restart (measured: 25 of 80
 * messages consumed by two members reading, all 80 flowing).
 */
function batchesOf(stream: MessagesStream<string, string, string, string>, max: number) {
  const buffer: KafkaMessage[] = [];
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  stream.on("data", (m: KafkaMessage) => {
    buffer.push(m);
    if (buffer.length >= max) stream.pause();
    notify();
  });
  stream.on("error", (err: Error) => {
    failure = err;
    notify();
  });
  stream.on("close", notify);
  return {
    /** Up to `max` messages; waits for the first; [] once stopped or closed. */
    async next(signal: AbortSignal): Promise<KafkaMessage[]> {
      const onAbort = () => notify();
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        for (;;) {
          if (buffer.length > 0) {
            const batch = buffer.splice(0, max);
            if (buffer.length < max && stream.isPaused()) stream.resume();
            return batch;
          }
          if (failure) throw failure;
          if (signal.aborted || stream.destroyed || stream.readableEnded) {
            if (!signal.aborted) throw new Error("consumer stream closed");
            return [];
          }
          await new Promise<void>((resolve) => (wake = resolve));
        }
      } finally {
        signal.removeEventListener("abort", onAbort);
      }
    },
  };
}

async function fileLoop<T>(
  args: ConsumerArgs<T>,
  metrics: ConsumerMetrics,
  settle: (records: readonly RawRecord[]) => Promise<void>,
  signal: AbortSignal,
): Promise<void> {
  const { db, group, logger } = args;
  const me = randomUUID();
  const leaseMs = 10_000;
  const maxBytes = 1024 * 1024;

  /** Takes or renews this replica's lease on the topic's file; the position if it holds it. */
  const lease = async (topic: string): Promise<number | undefined> => {
    const now = new Date();
    await db.query(
      `INSERT INTO consumer_file_positions (topic, position, holder, lease_until)
       VALUES ($1, 0, NULL, $2) ON CONFLICT (topic) DO NOTHING`,
      [topic, now.toISOString()],
    );
    const rows = await db.query<{ position: number | string }>(
      `UPDATE consumer_file_positions SET holder = $1, lease_until = $2
       WHERE topic = $3 AND (holder = $1 OR holder IS NULL OR lease_until < $4) RETURNING position`,
      [me, new Date(now.getTime() + leaseMs).toISOString(), topic, now.toISOString()],
    );
    return rows[0] === undefined ? undefined : Number(rows[0].position);
  };

  const readFrom = async (topic: string, file: string, position: number) => {
    const handle = await open(file, "r");
    try {
      const buffer = Buffer.alloc(maxBytes);
      const { bytesRead } = await handle.read(buffer, 0, maxBytes, position);
      // Only whole lines: the writer may be in the middle of one.
      const end = buffer.subarray(0, bytesRead).lastIndexOf(0x0a) + 1;
      const records: RawRecord[] = [];
      let start = 0;
      while (start < end) {
        const nl = buffer.indexOf(0x0a, start);
        const line = buffer.subarray(start, nl).toString("utf8");
        if (line.trim() !== "")
          records.push({ topic, position: String(position + start), value: line });
        start = nl + 1;
      }
      return { records, next: position + end };
    } finally {
      await handle.close();
    }
  };

  const tick = async (topic: string): Promise<boolean> => {
    const file = `${args.eventsDir}/${topic}.jsonl`;
    const size = await stat(file).then(
      (s) => s.size,
      () => undefined,
    );
    if (size === undefined) return false;
    let position = await lease(topic);
    if (position === undefined) return false;
    if (position > size) {
      logger.warn({ topic, position, size }, "consumer: event file shrank; reading it again");
      position = 0;
    }
    metrics.lag.set({ group, topic, unit: "bytes" }, size - position);
    if (position === size) return false;
    const { records, next } = await readFrom(topic, file, position);
    const batchSize = args.batchSize ?? 200;
    for (let i = 0; i < records.length; i += batchSize) {
      await settle(records.slice(i, i + batchSize));
      const upTo = i + batchSize < records.length ? Number(records[i + batchSize]!.position) : next;
      await db.query(
        "UPDATE consumer_file_positions SET position = $1 WHERE topic = $2 AND holder = $3",
        [upTo, topic, me],
      );
      metrics.lag.set({ group, topic, unit: "bytes" }, size - upTo);
      if (signal.aborted) return false;
    }
    return next < size;
  };

  for (let failures = 0; !signal.aborted;) {
    let more = false;
    try {
      for (const topic of args.topics) more = (await tick(topic)) || more;
      failures = 0;
    } catch (err) {
      failures++;
      logger.warn({ err, group }, "consumer: reading the event files failed; retrying");
    }
    if (!more) {
      await sleep(failures ? backoff(failures) : (args.pollMs ?? 500), undefined, {
        signal,
      }).catch(() => undefined);
    }
  }
  // Let another replica take over at once.
  await db
    .query("UPDATE consumer_file_positions SET holder = NULL WHERE holder = $1", [me])
    .catch(() => undefined);
}
