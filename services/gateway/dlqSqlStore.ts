import { setTimeout as sleep } from "node:timers/promises";
import type { Registry } from "prom-client";
import type { Logger } from "../shared/logger.ts";
import type { Db } from "../shared/sql/db.ts";
import {
  backoffMs,
  dlqMetrics,
  parseParked,
  ReplayLoops,
  safeDeliver,
  type DeadLetterQueue,
  type Delivery,
  fingerprintOf,
} from "./dlqModel.ts";
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
  const replayers = new ReplayLoops();

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
      return replayers.track(stop, loop);
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
      await replayers.stopAll();
      await db.close();
    },
  };
}
