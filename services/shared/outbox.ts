import { randomUUID } from "node:crypto";
import type { EventBus, PlatformEvent } from "./events.ts";
import type { Logger } from "./logger.ts";
import type { Db } from "./sql/db.ts";

// The transactional outbox: an event is written in the same transaction as the change it
// describes, then a relay publishes it. A crash between the two loses nothing; the price is that
// an event may be published twice, so consumers drop duplicates by `id`.

export const OUTBOX_MIGRATION = `
CREATE TABLE outbox (
  id TEXT PRIMARY KEY,
  topic TEXT NOT NULL,
  event_key TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at TEXT NOT NULL,
  published_at TEXT
);
CREATE INDEX outbox_unpublished ON outbox (created_at) WHERE published_at IS NULL;
`;

export async function enqueueEvent(
  tx: Db,
  topic: string,
  key: string,
  type: string,
  data: unknown,
): Promise<PlatformEvent> {
  const event: PlatformEvent = { id: randomUUID(), type, at: new Date().toISOString(), data };
  await tx.query(
    "INSERT INTO outbox (id, topic, event_key, payload, created_at) VALUES ($1, $2, $3, $4, $5)",
    [event.id, topic, key, JSON.stringify(event), event.at],
  );
  return event;
}

interface OutboxRow {
  id: string;
  topic: string;
  event_key: string;
  payload: string;
}

/** Publishes one batch of pending events; returns how many were published. */
export async function relayOnce(db: Db, bus: EventBus, batch = 100): Promise<number> {
  return db.transaction(async (tx) => {
    // SKIP LOCKED lets the replicas of a service relay side by side without taking the same rows.
    const lock = tx.engine === "postgres" ? " FOR UPDATE SKIP LOCKED" : "";
    const rows = await tx.query<OutboxRow>(
      `SELECT id, topic, event_key, payload FROM outbox WHERE published_at IS NULL ORDER BY created_at, id LIMIT ${batch}${lock}`,
    );
    if (rows.length === 0) return 0;
    const byTopic = new Map<string, OutboxRow[]>();
    for (const row of rows) byTopic.set(row.topic, [...(byTopic.get(row.topic) ?? []), row]);
    for (const [topic, group] of byTopic) {
      await bus.publish(
        topic,
        group.map((row) => ({
          key: row.event_key,
          event: JSON.parse(row.payload) as PlatformEvent,
        })),
      );
    }
    const now = new Date().toISOString();
    for (const row of rows) {
      await tx.query("UPDATE outbox SET published_at = $1 WHERE id = $2", [now, row.id]);
    }
    return rows.length;
  });
}

/** Relays in the background until stopped; failures are logged and retried on the next tick. */
export function startRelay(
  db: Db,
  bus: EventBus,
  logger: Logger,
  intervalMs = 250,
): () => Promise<void> {
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const tick = async () => {
    try {
      let published: number;
      do {
        published = await relayOnce(db, bus);
      } while (published > 0 && !stopped);
    } catch (err) {
      logger.warn({ err }, "outbox relay failed; will retry");
    }
  };
  const timer = setInterval(() => {
    running = running.then(tick);
  }, intervalMs);
  return async () => {
    stopped = true;
    clearInterval(timer);
    await running;
    await tick();
  };
}
