import { createHash } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { Response } from "express";
import { z } from "zod";
import { ApiError } from "./errors.ts";
import type { Db } from "./sql/db.ts";
import { parse } from "./validation.ts";

// Idempotent creates: a client (or the gateway replaying its dead-letter queue) may send a create
// again under the same `Idempotency-Key`; the repeat answers the first result instead of making a
// second resource, and a different request under a used key is refused.

export const idempotencyKey = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,128}$/, "must be 1-128 characters of A-Z a-z 0-9 _ . : -");

export interface Idempotency {
  key: string;
  /** Hash of the validated input, which tells a repeat from a different request. */
  requestHash: string;
}

/** The request's idempotency key (validated) and the hash of its input, if it sent a key. */
export function idempotencyOf(
  headers: IncomingHttpHeaders,
  input: unknown,
): Idempotency | undefined {
  const raw = headers["idempotency-key"];
  if (raw === undefined) return undefined;
  const key = parse(idempotencyKey, raw, "Idempotency-Key");
  return { key, requestHash: createHash("sha256").update(JSON.stringify(input)).digest("hex") };
}

export type CreateResult<T> =
  { kind: "created"; value: T } | { kind: "replayed"; value: T } | { kind: "conflict" };

export interface CreateOnce<Row extends KeyedRow, T> {
  /**
   * The resource's table (a name from the service's code), with `user_id`, `idempotency_key` and
   * `request_hash` columns and UNIQUE (user_id, idempotency_key).
   */
  table: string;
  owner: string;
  idempotency?: Idempotency;
  toValue: (row: Row) => T;
  /** Makes the resource (and enqueues its event) inside the transaction. */
  create: (tx: Db) => Promise<T>;
}

export interface KeyedRow {
  request_hash: string | null;
}

/**
 * Runs a create once per idempotency key. Two requests racing under one key both miss the lookup;
 * the loser's insert then breaks the table's UNIQUE (owner, key) and it answers from the winner's
 * row, so both callers get the same resource.
 */
export async function createOnce<Row extends KeyedRow, T>(
  db: Db,
  op: CreateOnce<Row, T>,
): Promise<CreateResult<T>> {
  const lookup = async (tx: Db, idem: Idempotency): Promise<CreateResult<T> | undefined> => {
    const [row] = await tx.query<Row>(
      `SELECT * FROM ${op.table} WHERE user_id = $1 AND idempotency_key = $2`,
      [op.owner, idem.key],
    );
    if (!row) return undefined;
    return row.request_hash === idem.requestHash
      ? { kind: "replayed", value: op.toValue(row) }
      : { kind: "conflict" };
  };
  try {
    return await db.transaction(async (tx) => {
      const earlier = op.idempotency && (await lookup(tx, op.idempotency));
      return earlier ?? { kind: "created", value: await op.create(tx) };
    });
  } catch (err) {
    if (!op.idempotency || !isUniqueViolation(err)) throw err;
    const winner = await lookup(db, op.idempotency);
    if (!winner) throw err;
    return winner;
  }
}

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e.code === "23505" || /UNIQUE constraint failed/.test(e.message ?? "");
}

/** The 409 for an Idempotency-Key that came back with a different request. */
export function idempotencyKeyReused(): ApiError {
  return new ApiError(
    409,
    "invalid_request_error",
    "idempotency_key_reused",
    "this Idempotency-Key was used for a different request",
  );
}

/** Answers a create: 201 with the resource (marked when replayed), or 409 for a reused key. */
export function sendCreated<T>(res: Response, result: CreateResult<T>): void {
  if (result.kind === "conflict") throw idempotencyKeyReused();
  if (result.kind === "replayed") res.setHeader("idempotent-replayed", "true");
  res.status(201).json(result.value);
}
