import { createOnce, type CreateResult, type Idempotency } from "../shared/idempotency.ts";
import { newId } from "../shared/ids.ts";
import { OUTBOX_MIGRATION, enqueueEvent } from "../shared/outbox.ts";
import { ownedPage, type Page } from "../shared/pagination.ts";
import type { Db } from "../shared/sql/db.ts";
import type { Order } from "./contract.ts";

export const ORDERS_TOPIC = "business.orders";

export const migrations = [
  `
CREATE TABLE orders (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  item TEXT NOT NULL,
  quantity INTEGER NOT NULL,
  status TEXT NOT NULL,
  idempotency_key TEXT,
  request_hash TEXT,
  created_at TEXT NOT NULL,
  UNIQUE (user_id, idempotency_key)
);
CREATE INDEX orders_user ON orders (user_id, id);
`,
  OUTBOX_MIGRATION,
];

export type { Order };

interface Row {
  id: string;
  user_id: string;
  item: string;
  quantity: number | string;
  status: string;
  request_hash: string | null;
  created_at: string;
}

const toOrder = (r: Row): Order => ({
  id: r.id,
  object: "order",
  userId: r.user_id,
  item: r.item,
  quantity: Number(r.quantity),
  status: r.status,
  createdAt: r.created_at,
});

export function orderStore(db: Db) {
  return {
    /**
     * Creates an order and its `order.created` event in one transaction. With an idempotency key,
     * a repeat of the same request returns the first order; a different request under the same
     * key is a conflict.
     */
    create(
      userId: string,
      input: { item: string; quantity: number },
      idempotency?: Idempotency,
    ): Promise<CreateResult<Order>> {
      return createOnce(db, {
        table: "orders",
        owner: userId,
        idempotency,
        toValue: toOrder,
        create: async (tx) => {
          const row: Row = {
            id: newId("ord"),
            user_id: userId,
            item: input.item,
            quantity: input.quantity,
            status: "created",
            request_hash: idempotency?.requestHash ?? null,
            created_at: new Date().toISOString(),
          };
          await tx.query(
            `INSERT INTO orders (id, user_id, item, quantity, status, idempotency_key, request_hash, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
            [
              row.id,
              userId,
              row.item,
              row.quantity,
              row.status,
              idempotency?.key ?? null,
              row.request_hash,
              row.created_at,
            ],
          );
          const order = toOrder(row);
          await enqueueEvent(tx, ORDERS_TOPIC, userId, "order.created", order);
          return order;
        },
      });
    },

    async get(userId: string, id: string): Promise<Order | undefined> {
      const rows = await db.query<Row>("SELECT * FROM orders WHERE user_id = $1 AND id = $2", [
        userId,
        id,
      ]);
      return rows[0] ? toOrder(rows[0]) : undefined;
    },

    /** Newest first; `after` is the last id of the previous page. */
    list(userId: string, page: { limit: number; after?: string }): Promise<Page<Order>> {
      return ownedPage(db, "orders", userId, page, toOrder);
    },
  };
}

export type OrderStore = ReturnType<typeof orderStore>;
