import { createHash, randomUUID } from "node:crypto";
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
import type { RequestHandler } from "express";
import { Redis } from "ioredis";
import { Counter, Gauge, type Registry } from "prom-client";
import { z } from "zod";
import { ApiError, badRequest, unavailable } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import { PRINCIPAL_HEADER_PREFIX } from "../shared/principal.ts";
import { openDb, type Db } from "../shared/sql/db.ts";
import { migrate } from "../shared/sql/migrate.ts";

// The dead-letter queue of a gateway tier: a write that carries an Idempotency-Key and cannot
// reach its service is parked here and answered 202; a replayer sends it again once the service
// is back. "Exactly once per idempotency key" rests on two layers: the queue keeps one message
// per (principal, key) where every replica can see it, and the replay carries the original key
// so that the service itself drops a replay that raced a late original or a crashed replayer.
// Two stores share one contract: Kafka (`<domain>.dlq`, the deployed default) and a SQL table in
// the gateway's own database (SQLite by default), for `npm start` without Kafka.

const PARKABLE_METHODS = ["POST", "PUT", "PATCH", "DELETE"] as const;

/** Printable ASCII without spaces, as the IETF idempotency-key draft and Stripe allow. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** The headers a replay needs; everything else (auth, cookies, hop-by-hop) is left behind. */
const REPLAY_HEADERS = new Set(["content-type", "traceparent", "x-request-id"]);

export const parkedRequestSchema = z.object({
  trackingId: z.string().regex(/^dlq_[A-Za-z0-9_-]{24}$/),
  idempotencyKey: z.string().regex(IDEMPOTENCY_KEY),
  /** The verified user id: idempotency keys are scoped per user, as the services scope them. */
  principal: z.string().min(1),
  service: z.string().min(1),
  method: z.enum(PARKABLE_METHODS),
  /** Path and query, e.g. `/v1/orders?dry=1`. */
  path: z.string().startsWith("/"),
  headers: z.record(z.string(), z.string()),
  /** The request body, base64; empty when there was none. */
  body: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/),
  parkedAt: z.iso.datetime(),
});
export type ParkedRequest = z.infer<typeof parkedRequestSchema>;

/**
 * Deterministic, so that every replica hands out the same id for the same (principal, key)
 * without asking anyone, and a client that parks twice sees one id.
 */
export function trackingIdFor(domain: string, principal: string, idempotencyKey: string): string {
  const digest = createHash("sha256")
    .update(`${domain}\0${principal}\0${idempotencyKey}`)
    .digest("base64url");
  return `dlq_${digest.slice(0, 24)}`;
}

/** What makes two parks "the same request": a different one under the same key is a conflict. */
export function fingerprintOf(req: ParkedRequest): string {
  return createHash("sha256")
    .update(`${req.method}\n${req.path}\n`)
    .update(Buffer.from(req.body, "base64"))
    .digest("hex");
}

export interface ParkedRequestArgs {
  domain: string;
  service: string;
  method: string;
  /** Path and query as sent upstream. */
  path: string;
  /** The verified user id. */
  principal: string;
  /** The headers the gateway would send upstream (principal headers included). */
  headers: Record<string, string | string[] | undefined>;
  idempotencyKey: string;
  body?: Buffer;
  now?: Date;
}

/** The parked form of a write the gateway could not deliver; throws if it cannot be parked. */
export function parkedRequest(args: ParkedRequestArgs): ParkedRequest {
  return parkedRequestSchema.parse(buildParked(args));
}

function buildParked(args: ParkedRequestArgs): Record<keyof ParkedRequest, unknown> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(args.headers)) {
    const lower = name.toLowerCase();
    if (value === undefined) continue;
    if (!REPLAY_HEADERS.has(lower) && !lower.startsWith(PRINCIPAL_HEADER_PREFIX)) continue;
    headers[lower] = Array.isArray(value) ? value.join(", ") : value;
  }
  return {
    trackingId: trackingIdFor(args.domain, args.principal, args.idempotencyKey),
    idempotencyKey: args.idempotencyKey,
    principal: args.principal,
    service: args.service,
    method: args.method.toUpperCase(),
    path: args.path,
    headers,
    body: (args.body ?? Buffer.alloc(0)).toString("base64"),
    parkedAt: (args.now ?? new Date()).toISOString(),
  };
}

/** `parked`: queued now; `duplicate`: the same request was queued before (same id); `conflict`: a different request already holds this key. */
export interface ParkResult {
  trackingId: string;
  status: "parked" | "duplicate" | "conflict";
}

/**
 * What a replay came to. `retry`: the service is still away (connection refused, 5xx, 408, 429),
 * try later. `poison`: the service refused the request itself (another 4xx) or the message is
 * unreadable; it is set aside, never dropped, and never sent again.
 */
export interface Delivery {
  outcome: "delivered" | "retry" | "poison";
  status?: number;
  reason?: string;
}

export type Deliver = (req: ParkedRequest) => Promise<Delivery>;

export interface ReplayerOptions {
  /** Back-off after a `retry`: base and cap in ms (equal jitter). Defaults 250 and 10000. */
  baseMs?: number;
  maxMs?: number;
  /** SQL store: how often an idle replayer looks for due messages. Default 500 ms. */
  pollMs?: number;
}

export interface PoisonEntry {
  /** Null when the message could not be parsed. */
  trackingId: string | null;
  service: string | null;
  reason: string;
  status: number | null;
  attempts: number;
  poisonedAt: string;
  request: ParkedRequest | null;
  /** The unparseable message as it was, when `request` is null. */
  raw: string | null;
}

export interface DeadLetterQueue {
  readonly kind: "kafka" | "sql";
  readonly domain: string;
  park(req: ParkedRequest): Promise<ParkResult>;
  /** Messages parked and not yet delivered nor poisoned. */
  depth(): Promise<number>;
  /** Replays in the background until the returned function is awaited. */
  startReplayer(deliver: Deliver, opts?: ReplayerOptions): () => Promise<void>;
  /** The most recent poison messages, newest first. */
  poison(limit?: number): Promise<PoisonEntry[]>;
  close(): Promise<void>;
}

/** Equal jitter: the wait grows with each attempt but never drops to zero, so nothing spins. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

interface DlqMetrics {
  parked: Counter<"service">;
  replayed: Counter<"service" | "outcome">;
}

function dlqMetrics(registry: Registry, domain: string, depth: () => Promise<number>): DlqMetrics {
  new Gauge({
    name: "gateway_dlq_depth",
    help: "Writes parked in the dead-letter queue and not yet delivered or poisoned",
    labelNames: ["domain"] as const,
    registers: [registry],
    async collect() {
      // A store that cannot answer (soon) leaves the last value: a scrape must not fail or hang.
      let timer: NodeJS.Timeout | undefined;
      const value = await Promise.race([
        depth().catch(() => undefined),
        new Promise<undefined>((ok) => (timer = setTimeout(() => ok(undefined), 2_000))),
      ]);
      clearTimeout(timer);
      if (value !== undefined) this.set({ domain }, value);
    },
  });
  return {
    parked: new Counter({
      name: "gateway_dlq_parked_total",
      help: "Writes parked in the dead-letter queue (duplicates not counted)",
      labelNames: ["service"] as const,
      registers: [registry],
    }),
    replayed: new Counter({
      name: "gateway_dlq_replayed_total",
      help: "Replay attempts of parked writes, by outcome (delivered, retry, poison)",
      labelNames: ["service", "outcome"] as const,
      registers: [registry],
    }),
  };
}

function parseParked(raw: string): ParkedRequest | undefined {
  try {
    const parsed = parkedRequestSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

async function safeDeliver(deliver: Deliver, req: ParkedRequest): Promise<Delivery> {
  try {
    return await deliver(req);
  } catch (err) {
    return { outcome: "retry", reason: (err as Error).message };
  }
}

// ---------------------------------------------------------------------------------------------
// The SQL store: one row per tracking id, so the primary key is the dedupe. Gateway replicas that
// share the database (the local replicas share one SQLite file) claim due rows by pushing their
// next attempt one lease ahead inside a transaction; a replica that dies mid-replay leaves the
// lease to expire and another replica sends the write again.

export const DLQ_MIGRATIONS = [
  `
CREATE TABLE dlq_messages (
  tracking_id TEXT PRIMARY KEY,
  domain TEXT NOT NULL,
  service TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  payload TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  next_attempt_at BIGINT NOT NULL,
  parked_at TEXT NOT NULL,
  finished_at TEXT,
  status INTEGER,
  reason TEXT
);
CREATE INDEX dlq_due ON dlq_messages (domain, state, next_attempt_at);
`,
];

export interface SqlDlqArgs {
  db: Db;
  domain: string;
  registry: Registry;
  logger: Logger;
  /** Delivered rows are kept this long (so a late duplicate is still recognised). Default 24 h. */
  retainDeliveredMs?: number;
  /** A replica that claimed a row and died releases it after this long. Default 30 s. */
  leaseMs?: number;
  /** Rows claimed per round. Default 20. */
  batch?: number;
}

interface SqlRow {
  tracking_id: string;
  service: string;
  payload: string;
  attempts: number | string;
}

/** The SQL store over a migrated database (see `DLQ_MIGRATIONS`). */
export function sqlDlq(args: SqlDlqArgs): DeadLetterQueue {
  const { db, domain, logger } = args;
  const leaseMs = args.leaseMs ?? 30_000;
  const batch = args.batch ?? 20;
  const retainMs = args.retainDeliveredMs ?? 24 * 3600_000;
  const replayers = new Set<() => Promise<void>>();

  const depth = async () => {
    const [row] = await db.query<{ n: number | string }>(
      "SELECT COUNT(*) AS n FROM dlq_messages WHERE domain = $1 AND state = 'parked'",
      [domain],
    );
    return Number(row?.n ?? 0);
  };
  const metrics = dlqMetrics(args.registry, domain, depth);

  const finish = (id: string, state: "delivered" | "poison", d: Delivery) =>
    db.query(
      "UPDATE dlq_messages SET state = $1, attempts = attempts + 1, finished_at = $2, status = $3, reason = $4 WHERE tracking_id = $5",
      [state, new Date().toISOString(), d.status ?? null, d.reason ?? null, id],
    );

  return {
    kind: "sql",
    domain,

    async park(req) {
      const fingerprint = fingerprintOf(req);
      // A delivered row may be pruned between the insert and the look-up: then insert again.
      for (;;) {
        const inserted = await db.query(
          `INSERT INTO dlq_messages (tracking_id, domain, service, fingerprint, payload, state, attempts, next_attempt_at, parked_at)
           VALUES ($1, $2, $3, $4, $5, 'parked', 0, $6, $7)
           ON CONFLICT (tracking_id) DO NOTHING RETURNING tracking_id`,
          [
            req.trackingId,
            domain,
            req.service,
            fingerprint,
            JSON.stringify(req),
            Date.now(),
            req.parkedAt,
          ],
        );
        if (inserted.length > 0) {
          metrics.parked.inc({ service: req.service });
          return { trackingId: req.trackingId, status: "parked" };
        }
        const [existing] = await db.query<{ fingerprint: string }>(
          "SELECT fingerprint FROM dlq_messages WHERE tracking_id = $1",
          [req.trackingId],
        );
        if (existing) {
          return {
            trackingId: req.trackingId,
            status: existing.fingerprint === fingerprint ? "duplicate" : "conflict",
          };
        }
      }
    },

    depth,

    startReplayer(deliver, opts = {}) {
      const baseMs = opts.baseMs ?? 250;
      const maxMs = opts.maxMs ?? 10_000;
      const pollMs = opts.pollMs ?? 500;
      const stop = new AbortController();
      let lastPrune = 0;

      const claim = () =>
        db.transaction(async (tx) => {
          const now = Date.now();
          // SKIP LOCKED lets PostgreSQL replicas claim side by side; SQLite's write lock serialises.
          const lock = tx.engine === "postgres" ? " FOR UPDATE SKIP LOCKED" : "";
          const rows = await tx.query<SqlRow>(
            `SELECT tracking_id, service, payload, attempts FROM dlq_messages
             WHERE domain = $1 AND state = 'parked' AND next_attempt_at <= $2
             ORDER BY next_attempt_at LIMIT ${batch}${lock}`,
            [domain, now],
          );
          for (const row of rows) {
            await tx.query("UPDATE dlq_messages SET next_attempt_at = $1 WHERE tracking_id = $2", [
              now + leaseMs,
              row.tracking_id,
            ]);
          }
          return rows;
        });

      const replay = async (row: SqlRow) => {
        const req = parseParked(row.payload);
        const attempts = Number(row.attempts);
        const d = req
          ? await safeDeliver(deliver, req)
          : { outcome: "poison" as const, reason: "unparseable message" };
        metrics.replayed.inc({ service: row.service, outcome: d.outcome });
        if (d.outcome === "retry") {
          await db.query(
            "UPDATE dlq_messages SET attempts = attempts + 1, next_attempt_at = $1, status = $2, reason = $3 WHERE tracking_id = $4",
            [
              Date.now() + backoffMs(attempts, baseMs, maxMs),
              d.status ?? null,
              d.reason ?? null,
              row.tracking_id,
            ],
          );
        } else {
          await finish(row.tracking_id, d.outcome, d);
          if (d.outcome === "poison")
            logger.warn({ trackingId: row.tracking_id, ...d }, "dlq: poison message set aside");
        }
      };

      const round = async (): Promise<number> => {
        const claimedAt = Date.now();
        const rows = await claim();
        for (const [i, row] of rows.entries()) {
          // Past its lease another replica may hold the row now: leave it to that one.
          if (Date.now() > claimedAt + leaseMs) break;
          if (stop.signal.aborted) {
            // Hand back what this replica claimed but will not send, instead of waiting a lease.
            for (const left of rows.slice(i)) {
              await db.query(
                "UPDATE dlq_messages SET next_attempt_at = $1 WHERE tracking_id = $2 AND state = 'parked'",
                [Date.now(), left.tracking_id],
              );
            }
            break;
          }
          await replay(row);
        }
        if (Date.now() - lastPrune > 60_000) {
          lastPrune = Date.now();
          await db.query(
            "DELETE FROM dlq_messages WHERE domain = $1 AND state = 'delivered' AND finished_at < $2",
            [domain, new Date(Date.now() - retainMs).toISOString()],
          );
        }
        return rows.length;
      };

      const loop = (async () => {
        while (!stop.signal.aborted) {
          let claimed = 0;
          try {
            claimed = await round();
          } catch (err) {
            logger.warn({ err }, "dlq: replay round failed; will retry");
          }
          // Rows that answered `retry` are now in the future, so an empty claim means "sleep".
          if (claimed === 0)
            await sleep(pollMs, undefined, { signal: stop.signal }).catch(() => undefined);
        }
      })();
      const stopReplayer = async () => {
        stop.abort();
        await loop;
        replayers.delete(stopReplayer);
      };
      replayers.add(stopReplayer);
      return stopReplayer;
    },

    async poison(limit = 100) {
      const rows = await db.query<{
        tracking_id: string;
        service: string;
        payload: string;
        attempts: number | string;
        finished_at: string;
        status: number | string | null;
        reason: string | null;
      }>(
        `SELECT tracking_id, service, payload, attempts, finished_at, status, reason FROM dlq_messages
         WHERE domain = $1 AND state = 'poison' ORDER BY finished_at DESC LIMIT $2`,
        [domain, limit],
      );
      return rows.map((r) => {
        const request = parseParked(r.payload) ?? null;
        return {
          trackingId: r.tracking_id,
          service: r.service,
          reason: r.reason ?? "",
          status: r.status === null ? null : Number(r.status),
          attempts: Number(r.attempts),
          poisonedAt: r.finished_at,
          request,
          raw: request ? null : r.payload,
        };
      });
    },

    async close() {
      await Promise.all([...replayers].map((stopReplayer) => stopReplayer()));
      await db.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------
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
  brokers: readonly string[];
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
  const topic = `${domain}.dlq`;
  const poisonTopic = `${domain}.dlq.poison`;
  const groupId = `${domain}.dlq.replayer`;
  const clientId = args.clientId ?? `${domain}-gateway-dlq`;
  const bootstrapBrokers = [...args.brokers];
  const dedupeSeconds = args.dedupeSeconds ?? 24 * 3600;
  const ledger = args.redisUrl
    ? redisLedger(args.redisUrl, `dlq:${domain}`, dedupeSeconds)
    : memoryLedger(dedupeSeconds);
  const producer = new Producer({
    clientId,
    bootstrapBrokers,
    serializers: stringSerializers,
    // A 202 promises the write is kept: wait for every in-sync replica.
    acks: ProduceAcks.ALL,
  });
  const admin = new Admin({ clientId: `${clientId}-admin`, bootstrapBrokers });
  const replayers = new Set<() => Promise<void>>();

  // Created on first use, not at start: a gateway must boot (and serve) while Kafka is away.
  let topicsReady: Promise<void> | undefined;
  const ensureTopics = () => {
    topicsReady ??= (async () => {
      const wanted = [topic, poisonTopic];
      const missing = async () => {
        const existing = new Set(await admin.listTopics());
        return wanted.filter((t) => !existing.has(t));
      };
      const todo = await missing();
      if (todo.length === 0) return;
      try {
        await admin.createTopics({
          topics: todo,
          partitions: args.partitions ?? 3,
          replicas: args.replicas ?? -1,
        });
      } catch (err) {
        // Another replica may have created them first.
        if ((await missing()).length > 0) throw err;
      }
    })().catch((err: unknown) => {
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
          bootstrapBrokers,
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
      const stopReplayer = async () => {
        stop.abort();
        await loop;
        replayers.delete(stopReplayer);
      };
      replayers.add(stopReplayer);
      return stopReplayer;
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
        bootstrapBrokers,
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
      await Promise.all([...replayers].map((stopReplayer) => stopReplayer()));
      await Promise.allSettled([producer.close(), admin.close(), ledger.close()]);
    },
  };
}

// ---------------------------------------------------------------------------------------------

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
export function writeQueueOf(dlq: DeadLetterQueue, logger: Logger) {
  return {
    async park(write: WriteToPark): Promise<{ trackingId: string; duplicate: boolean }> {
      const parsed = parkedRequestSchema.safeParse(
        buildParked({ ...write, domain: dlq.domain, body: Buffer.from(write.body, "base64") }),
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
    return kafkaDlq({
      domain: args.domain,
      brokers: args.kafkaBrokers.split(","),
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
