import { OUTBOX_MIGRATION, enqueueEvent } from "../shared/outbox.ts";
import type { Db } from "../shared/sql/db.ts";
import { QUOTA_REPORTS_MIGRATION, enqueueReport } from "./quota.ts";

/** Where each answer's usage goes (through the outbox), for billing and analytics to consume. */
export const USAGE_TOPIC = "business.usage";

export const migrations = [
  `
CREATE TABLE conversations (
  user_id TEXT NOT NULL,
  id TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (user_id, id)
);
CREATE TABLE conversation_messages (
  user_id TEXT NOT NULL,
  conversation_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  role TEXT NOT NULL,
  content TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (user_id, conversation_id, seq)
);
`,
  OUTBOX_MIGRATION,
  QUOTA_REPORTS_MIGRATION,
];

export interface StoredMessage {
  role: string;
  content: string;
}

/** Stored history kept in a request's context, oldest messages dropped first. */
export const HISTORY_BUDGET_TOKENS = 3_072;
/**
 * The most messages that can fit the budget (each costs at least its end mark and its role's
 * token): what a request reads at most, and what a conversation keeps, older ones being dropped.
 */
export const CONVERSATION_MAX_MESSAGES = HISTORY_BUDGET_TOKENS / 2;
/**
 * Characters of history a request reads at most. A token has no length limit, so the message
 * cap alone would let a few huge messages make every later request read megabytes.
 */
export const HISTORY_MAX_CHARS = HISTORY_BUDGET_TOKENS * 32;

/** The `chat.usage` event: what one answer cost, and for whom. */
export interface UsageRecord {
  requestId: string;
  userId: string;
  keyId: string;
  plan: string;
  /** The name the caller asked for, and the concrete version that answered. */
  model: string;
  modelVersion: string;
  backend: string;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** Answered from the response cache: no generation ran. */
  cached: boolean;
  stream: boolean;
  /** `stop`, `length`, or `aborted` when the caller went away mid-stream. */
  finishReason: string;
  conversationId: string | null;
}

export function chatStore(db: Db) {
  return {
    /**
     * A conversation's newest messages, newest first, as many as could fit the history budget
     * (none for a conversation not seen yet). The running length stops the read at
     * `HISTORY_MAX_CHARS`, and the primary key's order lets both engines stop scanning there.
     */
    async history(userId: string, conversationId: string): Promise<StoredMessage[]> {
      return db.query<StoredMessage>(
        `SELECT role, content FROM (
           SELECT seq, role, content,
             SUM(LENGTH(content)) OVER (ORDER BY seq DESC) - LENGTH(content) AS newer_chars
           FROM conversation_messages
           WHERE user_id = $1 AND conversation_id = $2
           ORDER BY seq DESC LIMIT $3
         ) AS newest
         WHERE newer_chars < $4 ORDER BY seq DESC`,
        [userId, conversationId, CONVERSATION_MAX_MESSAGES, HISTORY_MAX_CHARS],
      );
    },

    /**
     * Records one answered request in one transaction: its new messages and the answer in the
     * conversation (when it has one), its usage event in the outbox, and the report of that
     * usage to quota under the event's id (quota.ts), so that none is kept without the others.
     */
    async recordTurn(
      usage: UsageRecord,
      turn?: { conversationId: string; messages: readonly StoredMessage[] },
    ): Promise<void> {
      await db.transaction(async (tx) => {
        if (turn) {
          const now = new Date().toISOString();
          // The upsert locks the conversation's row (PostgreSQL), so two answers to the same
          // conversation number their messages one after the other.
          await tx.query(
            `INSERT INTO conversations (user_id, id, created_at, updated_at) VALUES ($1, $2, $3, $3)
             ON CONFLICT (user_id, id) DO UPDATE SET updated_at = excluded.updated_at`,
            [usage.userId, turn.conversationId, now],
          );
          const [last] = await tx.query<{ seq: number | string | null }>(
            "SELECT MAX(seq) AS seq FROM conversation_messages WHERE user_id = $1 AND conversation_id = $2",
            [usage.userId, turn.conversationId],
          );
          let seq = Number(last?.seq ?? 0);
          for (const m of turn.messages) {
            await tx.query(
              `INSERT INTO conversation_messages (user_id, conversation_id, seq, role, content, created_at)
               VALUES ($1, $2, $3, $4, $5, $6)`,
              [usage.userId, turn.conversationId, ++seq, m.role, m.content, now],
            );
          }
          // Messages beyond the cap could never be read again: a conversation stays bounded.
          await tx.query(
            "DELETE FROM conversation_messages WHERE user_id = $1 AND conversation_id = $2 AND seq <= $3",
            [usage.userId, turn.conversationId, seq - CONVERSATION_MAX_MESSAGES],
          );
        }
        const event = await enqueueEvent(tx, USAGE_TOPIC, usage.userId, "chat.usage", usage);
        await enqueueReport(tx, {
          usageId: event.id,
          userId: usage.userId,
          plan: usage.plan,
          model: usage.model,
          promptTokens: usage.promptTokens,
          completionTokens: usage.completionTokens,
          cached: usage.cached,
          at: event.at,
        });
      });
    },
  };
}

export type ChatStore = ReturnType<typeof chatStore>;
