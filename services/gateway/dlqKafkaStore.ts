import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import {
  Admin,
  Consumer,
  MessagesStreamModes,
  ProduceAcks,
  Producer,
  stringDeserializers,
  stringSerializers,
  type Message,
} from "@platformatic/kafka";
import { Redis } from "ioredis";
import { redisAuth } from "../shared/cache.ts";
import type { Registry } from "prom-client";
import type { KafkaClientOptions } from "../shared/kafkaClient.ts";
import { createMissingTopics } from "../shared/kafkaTopics.ts";
import type { Logger } from "../shared/logger.ts";
import {
  backoffMs,
  dlqMetrics,
  parseParked,
  ReplayLoops,
  safeDeliver,
  type DeadLetterQueue,
  type ParkedRequest,
  type PoisonEntry,
  type Delivery,
  fingerprintOf,
} from "./dlqModel.ts";
import { dlqTopics } from "./dlqTopics.ts";
// The Kafka store. Park produces to `<domain>.dlq`, keyed by tracking id (one partition per key,
// so copies of one request stay in order). One consumer group per domain, so each message is
// replayed by one gateway replica. A message's offset is committed only once its outcome is
// durable: delivered; or copied to the poison topic; or, for `retry`, copied to the tail of the
// topic with a later `not-before`, which keeps the partition moving (writes for a healthy
// service are not stuck behind one that is down) while the waiting copy sleeps its back-off.
// The dedupe of parks is a Redis SET NX that every replica sees; without Redis it is per
// replica, and a second copy of a request is answered by the service as an idempotent replay.

export interface KafkaDlqArgs {
  domain: string;
  /** Brokers and sign-in (services/shared/kafkaClient.ts). */
  kafka: KafkaClientOptions;
  registry: Registry;
  logger: Logger;
  /** Shared dedupe of parks across replicas; absent: per process. */
  redisUrl?: string;
  clientId?: string;
  /** Partitions of the topics the DLQ creates (a replica replays at most one). Default 3. */
  partitions?: number;
  /** Replication of those topics; -1 (the default) takes the broker's default. */
  replicas?: number;
  /** How long a park is remembered for dedupe. Default 24 h. */
  dedupeSeconds?: number;
}

/** Who already parked which tracking id, and with which request fingerprint. */
interface ParkLedger {
  /** Records `fingerprint` under `id` if absent; returns the fingerprint already there, if any. */
  claim(id: string, fingerprint: string): Promise<string | undefined>;
  release(id: string): Promise<void>;
  close(): Promise<void>;
}

function redisLedger(url: string, prefix: string, ttlSeconds: number): ParkLedger {
  const redis = new Redis(url, {
    ...redisAuth(),
    keyPrefix: `${prefix}:`,
    maxRetriesPerRequest: 1,
    commandTimeout: 1_000,
    connectTimeout: 2_000,
  });
  redis.on("error", () => undefined);
  return {
    async claim(id, fingerprint) {
      const set = await redis.set(id, fingerprint, "EX", ttlSeconds, "NX");
      if (set === "OK") return undefined;
      // Expired between the two calls: nobody holds it any more, so this park is the first.
      return (await redis.get(id)) ?? undefined;
    },
    async release(id) {
      await redis.del(id);
    },
    close: async () => redis.disconnect(),
  };
}

function memoryLedger(ttlSeconds: number, maxEntries = 100_000): ParkLedger {
  const entries = new Map<string, { fingerprint: string; expires: number }>();
  return {
    async claim(id, fingerprint) {
      const now = Date.now();
      const entry = entries.get(id);
      if (entry && entry.expires > now) return entry.fingerprint;
      if (entries.size >= maxEntries) {
        const oldest = entries.keys().next().value;
        if (oldest !== undefined) entries.delete(oldest);
      }
      entries.set(id, { fingerprint, expires: now + ttlSeconds * 1000 });
      return undefined;
    },
    async release(id) {
      entries.delete(id);
    },
    close: async () => entries.clear(),
  };
}

const HEADER_ATTEMPTS = "dlq-attempts";
const HEADER_NOT_BEFORE = "dlq-not-before";

function headerOf(message: Message<string, string, string, string>, name: string): number {
  const value = Number(message.headers.get(name) ?? 0);
  return Number.isFinite(value) ? value : 0;
}

export function kafkaDlq(args: KafkaDlqArgs): DeadLetterQueue {
  const { domain, logger } = args;
  const { topic, poisonTopic, groupId } = dlqTopics(domain);
  const clientId = args.clientId ?? `${domain}-gateway-dlq`;
  const connection = args.kafka;
  const dedupeSeconds = args.dedupeSeconds ?? 24 * 3600;
  const ledger = args.redisUrl
    ? redisLedger(args.redisUrl, `dlq:${domain}`, dedupeSeconds)
    : memoryLedger(dedupeSeconds);
  const producer = new Producer({
    clientId,
    ...connection,
    serializers: stringSerializers,
    // A 202 promises the write is kept: wait for every in-sync replica.
    acks: ProduceAcks.ALL,
  });
  const admin = new Admin({ clientId: `${clientId}-admin`, ...connection });
  const replayers = new ReplayLoops();

  // Created on first use, not at start: a gateway must boot (and serve) while Kafka is away.
  let topicsReady: Promise<void> | undefined;
  const ensureTopics = () => {
    topicsReady ??= createMissingTopics(admin, [topic, poisonTopic], {
      partitions: args.partitions,
      replicas: args.replicas,
    }).catch((err: unknown) => {
      topicsReady = undefined;
      throw err;
    });
    return topicsReady;
  };

  const depth = async () => {
    await ensureTopics();
    const metadata = await admin.metadata({ topics: [topic] });
    const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
    const partitions = Array.from({ length: count }, (_, i) => i);
    const offsetsAt = async (timestamp: bigint) => {
      const [listed] = await admin.listOffsets({
        topics: [
          {
            name: topic,
            partitions: partitions.map((partitionIndex) => ({ partitionIndex, timestamp })),
          },
        ],
      });
      return new Map(listed?.partitions.map((p) => [p.partitionIndex, p.offset]));
    };
    // -1: the next offset to be written; -2: the first one still kept.
    const [latest, earliest, groups] = await Promise.all([
      offsetsAt(-1n),
      offsetsAt(-2n),
      admin.listConsumerGroupOffsets({
        groups: [{ groupId, topics: [{ name: topic, partitionIndexes: partitions }] }],
      }),
    ]);
    const committed = new Map(
      groups[0]?.topics
        .find((t) => t.name === topic)
        ?.partitions.map((p) => [p.partitionIndex, p.committedOffset]),
    );
    let total = 0n;
    for (const p of partitions) {
      const end = latest.get(p) ?? 0n;
      const start = earliest.get(p) ?? 0n;
      const done = committed.get(p) ?? -1n;
      total += end - (done > start ? done : start);
    }
    return Number(total);
  };
  const metrics = dlqMetrics(args.registry, domain, depth);

  return {
    kind: "kafka",
    domain,

    async park(req) {
      await ensureTopics();
      const fingerprint = fingerprintOf(req);
      let held: string | undefined;
      try {
        held = await ledger.claim(req.trackingId, fingerprint);
      } catch (err) {
        // Without the shared ledger a duplicate may be queued twice, which the service's own
        // idempotency absorbs; refusing the write would lose it.
        logger.warn({ err, trackingId: req.trackingId }, "dlq: dedupe ledger unavailable");
      }
      if (held !== undefined) {
        return {
          trackingId: req.trackingId,
          status: held === fingerprint ? "duplicate" : "conflict",
        };
      }
      try {
        await producer.send({
          messages: [
            {
              topic,
              key: req.trackingId,
              value: JSON.stringify(req),
              headers: { [HEADER_ATTEMPTS]: "0", [HEADER_NOT_BEFORE]: "0" },
            },
          ],
        });
      } catch (err) {
        // Not kept, so not claimed: the client's retry must be able to park it.
        await ledger.release(req.trackingId).catch(() => undefined);
        throw err;
      }
      metrics.parked.inc({ service: req.service });
      return { trackingId: req.trackingId, status: "parked" };
    },

    depth,

    startReplayer(deliver, opts = {}) {
      const baseMs = opts.baseMs ?? 250;
      const maxMs = opts.maxMs ?? 10_000;
      const stop = new AbortController();
      const { signal } = stop;

      /** Makes the outcome durable; retried until it is, so no offset is committed past it. */
      const settle = async (
        message: Message<string, string, string, string>,
        req: ParkedRequest | undefined,
        d: Delivery,
        attempts: number,
      ) => {
        if (d.outcome === "delivered") return;
        if (d.outcome === "retry") {
          await producer.send({
            messages: [
              {
                topic,
                key: message.key,
                value: message.value,
                headers: {
                  [HEADER_ATTEMPTS]: String(attempts + 1),
                  [HEADER_NOT_BEFORE]: String(Date.now() + backoffMs(attempts, baseMs, maxMs)),
                },
              },
            ],
          });
          return;
        }
        const entry: PoisonEntry = {
          trackingId: req?.trackingId ?? null,
          service: req?.service ?? null,
          reason: d.reason ?? "",
          status: d.status ?? null,
          attempts: attempts + 1,
          poisonedAt: new Date().toISOString(),
          request: req ?? null,
          raw: req ? null : message.value,
        };
        await producer.send({
          messages: [{ topic: poisonTopic, key: message.key, value: JSON.stringify(entry) }],
        });
        logger.warn(
          { trackingId: entry.trackingId, status: entry.status, reason: entry.reason },
          "dlq: poison message set aside",
        );
      };

      const handle = async (message: Message<string, string, string, string>) => {
        const attempts = headerOf(message, HEADER_ATTEMPTS);
        const wait = headerOf(message, HEADER_NOT_BEFORE) - Date.now();
        // Throws on stop: the message stays uncommitted and is replayed after the restart.
        if (wait > 0) await sleep(wait, undefined, { signal });
        const req = parseParked(message.value);
        const d = req
          ? await safeDeliver(deliver, req)
          : { outcome: "poison" as const, reason: "unparseable message" };
        metrics.replayed.inc({ service: req?.service ?? "unknown", outcome: d.outcome });
        for (let failures = 0; ; failures++) {
          try {
            await settle(message, req, d, attempts);
            break;
          } catch (err) {
            logger.warn({ err, key: message.key }, "dlq: cannot record a replay outcome; retrying");
            await sleep(backoffMs(failures, baseMs, maxMs), undefined, { signal });
          }
        }
        // A lost commit is covered by the next one; after a crash the message comes again, and
        // the service's idempotency answers it.
        await Promise.resolve(message.commit()).catch((err: unknown) =>
          logger.warn({ err, key: message.key }, "dlq: offset commit failed"),
        );
      };

      const consumeOnce = async () => {
        await ensureTopics();
        const consumer = new Consumer({
          clientId: `${clientId}-replayer`,
          groupId,
          ...connection,
          deserializers: stringDeserializers,
          maxWaitTime: 500,
          autocommit: false,
        });
        const closeOnStop = () => void consumer.close(true).catch(() => undefined);
        signal.addEventListener("abort", closeOnStop, { once: true });
        try {
          const stream = await consumer.consume({
            topics: [topic],
            // Messages parked before the group first ran are replayed too.
            mode: MessagesStreamModes.COMMITTED,
            fallbackMode: MessagesStreamModes.EARLIEST,
            autocommit: false,
          });
          for await (const message of stream) {
            if (signal.aborted) break;
            await handle(message);
          }
        } finally {
          signal.removeEventListener("abort", closeOnStop);
          await consumer.close(true).catch(() => undefined);
        }
      };

      const loop = (async () => {
        for (let failures = 0; !signal.aborted; failures++) {
          try {
            await consumeOnce();
          } catch (err) {
            if (signal.aborted) break;
            logger.warn({ err }, "dlq: replayer lost its consumer; restarting");
          }
          await sleep(backoffMs(failures, baseMs, maxMs), undefined, { signal }).catch(
            () => undefined,
          );
        }
      })();
      return replayers.track(stop, loop);
    },

    async poison(limit = 100) {
      await ensureTopics();
      const metadata = await admin.metadata({ topics: [poisonTopic] });
      const count = metadata.topics.get(poisonTopic)?.partitionsCount ?? 0;
      const partitions = Array.from({ length: count }, (_, i) => i);
      const offsetsAt = async (timestamp: bigint) => {
        const [listed] = await admin.listOffsets({
          topics: [
            {
              name: poisonTopic,
              partitions: partitions.map((partitionIndex) => ({ partitionIndex, timestamp })),
            },
          ],
        });
        return new Map(listed?.partitions.map((p) => [p.partitionIndex, p.offset]));
      };
      const [latest, earliest] = await Promise.all([offsetsAt(-1n), offsetsAt(-2n)]);
      // The last `limit` of each partition covers the newest `limit` overall.
      const from = partitions
        .map((partition) => {
          const end = latest.get(partition) ?? 0n;
          const start = earliest.get(partition) ?? 0n;
          const first = end - BigInt(limit) > start ? end - BigInt(limit) : start;
          return { topic: poisonTopic, partition, offset: first, end };
        })
        .filter((p) => p.end > p.offset);
      if (from.length === 0) return [];
      const wanted = from.reduce((n, p) => n + Number(p.end - p.offset), 0);
      const reader = new Consumer({
        clientId: `${clientId}-poison-reader`,
        groupId: `${domain}.dlq.poison-reader.${randomUUID()}`,
        ...connection,
        deserializers: stringDeserializers,
        maxWaitTime: 200,
        autocommit: false,
      });
      const entries: PoisonEntry[] = [];
      const timer = setTimeout(() => void reader.close(true).catch(() => undefined), 10_000);
      try {
        const stream = await reader.consume({
          topics: [poisonTopic],
          mode: MessagesStreamModes.MANUAL,
          offsets: from.map(({ topic: t, partition, offset }) => ({ topic: t, partition, offset })),
          autocommit: false,
        });
        let read = 0;
        for await (const message of stream) {
          const end = from.find((p) => p.partition === message.partition)?.end ?? 0n;
          if (message.offset >= end) continue;
          read++;
          try {
            entries.push(JSON.parse(message.value) as PoisonEntry);
          } catch {
            logger.warn({ offset: String(message.offset) }, "dlq: unreadable poison entry");
          }
          if (read >= wanted) break;
        }
      } finally {
        clearTimeout(timer);
        await reader.close(true).catch(() => undefined);
      }
      return entries.sort((a, b) => b.poisonedAt.localeCompare(a.poisonedAt)).slice(0, limit);
    },

    async close() {
      await replayers.stopAll();
      await Promise.allSettled([producer.close(), admin.close(), ledger.close()]);
    },
  };
}
