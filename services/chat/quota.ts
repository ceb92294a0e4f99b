import { Counter, type Registry } from "prom-client";
import type { Logger } from "../shared/logger.ts";
import type { Db } from "../shared/sql/db.ts";
import { sendToReplicas, type ReplicaSet } from "../shared/upstream.ts";

// chat's usage reports to the identity domain's quota service, which counts each completion's
// tokens against the caller's token quota. The gateway consumes the request quota before chat
// answers; the tokens are known only after, so chat reports them.
//
// A report is written in the same transaction as the usage event (store.ts), under the event's
// id, then delivered to `/internal/quota/usage` through the identity tier (UPSTREAM_QUOTA, catalog
// `tierCalls`) until it is accepted: an identity outage delays reports, it never loses them, and
// quota counts each usage id once however often it arrives.

export const QUOTA_REPORTS_MIGRATION = `
CREATE TABLE quota_reports (
  usage_id TEXT PRIMARY KEY,
  payload TEXT NOT NULL,
  created_at TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  delivered_at TEXT,
  rejected_at TEXT,
  last_error TEXT
);
CREATE INDEX quota_reports_pending ON quota_reports (created_at)
  WHERE delivered_at IS NULL AND rejected_at IS NULL;
`;

/** The body of `POST /internal/quota/usage` (services/quota/contract.ts). */
export interface UsageReport {
  usageId: string;
  userId: string;
  plan: string;
  model: string;
  promptTokens: number;
  completionTokens: number;
  cached: boolean;
  at: string;
}

export async function enqueueReport(tx: Db, report: UsageReport): Promise<void> {
  await tx.query("INSERT INTO quota_reports (usage_id, payload, created_at) VALUES ($1, $2, $3)", [
    report.usageId,
    JSON.stringify(report),
    report.at,
  ]);
}

/** Sends one report; resolves to the status quota (or the identity tier) answered. */
export type SendReport = (report: UsageReport) => Promise<{ status: number; body: string }>;

/** A `SendReport` to the identity tier's replicas, with failover (a report may be sent twice). */
export function tierSender(set: ReplicaSet): SendReport {
  return async (report) => {
    const res = await sendToReplicas(set, {
      method: "POST",
      path: "/internal/quota/usage",
      headers: { "content-type": "application/json", "x-request-id": `usage-${report.usageId}` },
      body: Buffer.from(JSON.stringify(report)),
      retryable: true,
    });
    return { status: res.statusCode, body: await res.body.text() };
  };
}

export function reportMetrics(registry: Registry) {
  return new Counter({
    name: "chat_quota_reports_total",
    help: "Usage reports to quota: delivered, failed (to be retried) or rejected (a 4xx, kept aside)",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
}

interface ReportRow {
  usage_id: string;
  payload: string;
  attempts: number | string;
}

/**
 * Delivers one batch of pending reports, oldest first. Stops at the first report that cannot be
 * delivered now (the identity tier or quota is down: the next would fail too) and returns how
 * many were settled and whether one failed.
 */
export async function deliverOnce(
  db: Db,
  send: SendReport,
  logger: Logger,
  counter?: Counter<"outcome">,
  batch = 50,
): Promise<{ settled: number; failed: boolean }> {
  return db.transaction(async (tx) => {
    // SKIP LOCKED lets chat's replicas deliver side by side without sending the same rows.
    const lock = tx.engine === "postgres" ? " FOR UPDATE SKIP LOCKED" : "";
    const rows = await tx.query<ReportRow>(
      `SELECT usage_id, payload, attempts FROM quota_reports
       WHERE delivered_at IS NULL AND rejected_at IS NULL
       ORDER BY created_at, usage_id LIMIT ${batch}${lock}`,
    );
    let settled = 0;
    for (const row of rows) {
      const now = new Date().toISOString();
      let answer: { status: number; body: string } | undefined;
      let error: string;
      try {
        answer = await send(JSON.parse(row.payload) as UsageReport);
        error = `${answer.status} ${answer.body.slice(0, 500)}`;
      } catch (err) {
        error = (err as Error).message;
      }
      if (answer?.status === 200) {
        await tx.query("UPDATE quota_reports SET delivered_at = $1 WHERE usage_id = $2", [
          now,
          row.usage_id,
        ]);
        counter?.inc({ outcome: "delivered" });
        settled++;
        continue;
      }
      if (answer && answer.status >= 400 && answer.status < 500 && answer.status !== 429) {
        // quota refuses this report as it is (a field it does not take): sending it again would
        // fail the same way, so it is kept aside, with the reason, for someone to look at.
        await tx.query(
          "UPDATE quota_reports SET rejected_at = $1, last_error = $2, attempts = $3 WHERE usage_id = $4",
          [now, error, Number(row.attempts) + 1, row.usage_id],
        );
        counter?.inc({ outcome: "rejected" });
        logger.error({ usageId: row.usage_id, error }, "quota rejected a usage report");
        settled++;
        continue;
      }
      await tx.query(
        "UPDATE quota_reports SET attempts = $1, last_error = $2 WHERE usage_id = $3",
        [Number(row.attempts) + 1, error, row.usage_id],
      );
      counter?.inc({ outcome: "failed" });
      logger.warn({ usageId: row.usage_id, error }, "usage report not delivered; will retry");
      return { settled, failed: true };
    }
    return { settled, failed: false };
  });
}

export interface DelivererOptions {
  intervalMs?: number;
  /** The longest wait between tries while quota cannot be reached. Default 30 s. */
  maxBackoffMs?: number;
  counter?: Counter<"outcome">;
}

/**
 * Delivers pending reports in the background until stopped. After a failed delivery it waits
 * longer each time (doubling, with jitter, up to `maxBackoffMs`) so that an identity outage is
 * not met with a flood when it ends; the first success resets the wait.
 */
export function startDeliverer(
  db: Db,
  send: SendReport,
  logger: Logger,
  opts: DelivererOptions = {},
): () => Promise<void> {
  const intervalMs = opts.intervalMs ?? 250;
  const maxBackoffMs = opts.maxBackoffMs ?? 30_000;
  let stopped = false;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const tick = async () => {
    let failed: boolean;
    try {
      let settled: number;
      do {
        ({ settled, failed } = await deliverOnce(db, send, logger, opts.counter));
      } while (settled > 0 && !failed && !stopped);
    } catch (err) {
      failed = true;
      logger.warn({ err }, "usage report delivery failed; will retry");
    }
    failures = failed ? failures + 1 : 0;
  };
  const schedule = () => {
    if (stopped) return;
    const backoff = Math.min(maxBackoffMs, intervalMs * 2 ** failures);
    const wait = failures === 0 ? intervalMs : intervalMs + Math.random() * backoff;
    timer = setTimeout(() => {
      running = tick().then(schedule);
    }, wait);
  };
  schedule();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await running;
  };
}
