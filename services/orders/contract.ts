import { z } from "zod";

// The orders API's request shapes, shared by the service and the gateway's validation, so that a
// malformed request is refused at the edge with the same message the service would give.

export const createOrderBody = z
  .object({
    item: z.string().trim().min(1).max(200),
    quantity: z.number().int().min(1).max(10_000),
  })
  .strict();

export const listOrdersQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    after: z
      .string()
      .regex(/^ord_[0-9a-f]{24}$/, "must be an order id")
      .optional(),
  })
  .strict();
