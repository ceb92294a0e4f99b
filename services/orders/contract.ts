import { z } from "zod";
import { idSchema } from "../shared/ids.ts";
import { pageQuery } from "../shared/pagination.ts";

// The orders API's request shapes, shared by the service and the gateway's validation, so that a
// malformed request is refused at the edge with the same message the service would give.

export const orderId = idSchema("ord", "an order id");

export const createOrderBody = z
  .object({
    item: z.string().trim().min(1).max(200),
    quantity: z.number().int().min(1).max(10_000),
  })
  .strict();

export const listOrdersQuery = pageQuery(orderId);
