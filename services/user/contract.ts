import { z } from "zod";
import { listOf } from "../shared/pagination.ts";

// The user service's shapes: plans (the limits and models each plan allows) and users, the
// requests it parses and the answers it publishes (held to the real ones in tests). Quota reads
// plans through GET /internal/plans/:name, auth reads a user's plan through GET /internal/users/:id.

export const planName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,31}$/, "must be a plan name (lower-case letters, digits, dashes)");

const planFields = {
  requestsPerDay: z.number().int().min(0).max(1_000_000_000),
  tokensPerDay: z.number().int().min(0).max(1_000_000_000_000),
  models: z
    .array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/, "must be a model id"))
    .max(100),
};

export const planBody = z.object({ ...planFields, models: planFields.models.default([]) }).strict();

export const planSchema = z
  .object({
    object: z.literal("plan"),
    name: planName,
    ...planFields,
    models: planFields.models.meta({
      description: "Model ids a key on this plan may use; empty means every model",
    }),
  })
  .strict()
  .meta({ id: "Plan", description: "A plan: the requests and tokens a day it allows, its models" });
export type Plan = z.infer<typeof planSchema>;
export const planList = listOf(planSchema);

/**
 * A user id: generated as `user_...` (time-ordered) unless an admin names it, which lets a user
 * whose keys already exist (e.g. `demo-user`) get a record. `me` and `plans` are paths, not ids.
 */
export const userId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, "must be a user id (letters, digits, _ . -)")
  .refine((id) => id !== "me" && id !== "plans", "is a reserved word");

const userFields = { email: z.email().max(254), name: z.string().trim().min(1).max(200) };

export const createUserBody = z
  .object({ id: userId.optional(), ...userFields, plan: planName.default("free") })
  .strict();

export const updateUserBody = z
  .object({
    email: userFields.email.optional(),
    name: userFields.name.optional(),
    plan: planName.optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, "must change at least one of email, name, plan");

export const listUsersQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    after: userId.optional(),
    plan: planName.optional(),
  })
  .strict();

export const userSchema = z
  .object({
    object: z.literal("user"),
    id: userId,
    ...userFields,
    plan: planName,
    createdAt: z.iso.datetime(),
  })
  .strict()
  .meta({ id: "User", description: "A user's record" });
export type User = z.infer<typeof userSchema>;
export const userList = listOf(userSchema);
export const deletedUser = z
  .object({ id: userId, object: z.literal("user"), deleted: z.literal(true) })
  .strict();
