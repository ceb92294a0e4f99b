import { randomBytes } from "node:crypto";
import { z } from "zod";

// Resource ids: `<prefix>_` then a millisecond timestamp (12 hex digits) and 48 random bits, so
// that ids sort by creation time, which keyset pagination relies on, and cannot be guessed.

const ID_BODY = "[0-9a-f]{24}";

export function newId(prefix: string): string {
  return `${prefix}_${Date.now().toString(16).padStart(12, "0")}${randomBytes(6).toString("hex")}`;
}

/** The schema of one kind's ids, e.g. `idSchema("ord", "an order id")`. */
export function idSchema(prefix: string, noun: string) {
  return z.string().regex(new RegExp(`^${prefix}_${ID_BODY}$`), `must be ${noun} (${prefix}_...)`);
}
