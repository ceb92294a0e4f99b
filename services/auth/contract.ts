import { z } from "zod";
import { principalSchema } from "../shared/principal.ts";

// The keys API's shapes: the requests, which the service parses with, and the answers, which its
// published operations (api.ts) describe and the tests hold it to.

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

export const keyRecord = z
  .object({
    id: keyId,
    userId: z.string(),
    name: z.string(),
    prefix: z.string().meta({ description: "The key's first characters, to tell keys apart" }),
    plan: z.string(),
    scopes: z.array(z.enum(["admin"])),
    createdAt: z.iso.datetime(),
    revokedAt: z.iso.datetime().nullable(),
  })
  .strict()
  .meta({ id: "ApiKey", description: "An API key's record: never the key, only its prefix" });
export const newKey = keyRecord
  .extend({ key: z.string().meta({ description: "The key itself, in this answer only" }) })
  .meta({ id: "NewApiKey", description: "A key just made, shown this once" });
export const keyList = z.object({ object: z.literal("list"), data: z.array(keyRecord) }).strict();
export const whoami = z.object({ principal: principalSchema }).strict();
export const revokedKey = z.object({ id: keyId, revoked: z.literal(true) }).strict();
