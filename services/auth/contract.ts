import { z } from "zod";

// The keys API's request shapes: the service parses with them, and its published operations
// (api.ts) describe them.

const ownerId = z.string().min(1).max(200);

export const createBody = z
  .object({
    name: z.string().trim().min(1).max(100).default("unnamed"),
    // Admins only: a key for another user, or an admin key.
    userId: ownerId.optional(),
    scopes: z
      .array(z.enum(["admin"]))
      .max(1)
      .optional(),
  })
  .strict();
export const ownerQuery = z.object({ userId: ownerId.optional() }).strict();
export const keyId = z.string().regex(/^key_[0-9a-f]{32}$/, "must be a key id (key_...)");
