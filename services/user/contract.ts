import { z } from "zod";

// The user service's shapes: plans (the limits and models each plan allows) and users. Quota
// reads plans through GET /internal/plans/:name, auth reads a user's plan through
// GET /internal/users/:id.

export const planName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,31}$/, "must be a plan name (lower-case letters, digits, dashes)");

export interface Plan {
  object: "plan";
  name: string;
  requestsPerDay: number;
  tokensPerDay: number;
  /** Model ids a key on this plan may use; empty means every model. */
  models: string[];
}

export const planBody = z
  .object({
    requestsPerDay: z.number().int().min(0).max(1_000_000_000),
    tokensPerDay: z.number().int().min(0).max(1_000_000_000_000),
    models: z
      .array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/, "must be a model id"))
      .max(100)
      .default([]),
  })
  .strict();

/**
 * A user id: generated as `user_...` (time-ordered) unless an admin names it, which lets a user
 * whose keys already exist (e.g. `demo-user`) get a record. `me` and `plans` are paths, not ids.
 */
export const userId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, "must be a user id (letters, digits, _ . -)")
  .refine((id) => id !== "me" && id !== "plans", "is a reserved word");

export interface User {
  object: "user";
  id: string;
  email: string;
  name: string;
  plan: string;
  createdAt: string;
}

export const createUserBody = z
  .object({
    id: userId.optional(),
    email: z.email().max(254),
    name: z.string().trim().min(1).max(200),
    plan: planName.default("free"),
  })
  .strict();

export const updateUserBody = z
  .object({
    email: z.email().max(254).optional(),
    name: z.string().trim().min(1).max(200).optional(),
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
