import { z } from "zod";
import { idSchema } from "../shared/ids.ts";
import { listOf, pageQuery } from "../shared/pagination.ts";

// The orders API's shapes: the requests, shared by the service and the gateway's validation, so
// that a malformed request is refused at the edge with the same message the service would give;
// and the answers, published in the API's description and held to the real ones in tests.

export const orderId = idSchema("ord", "an order id");

export const createOrderBody = z
  .object({
    item: z.string().trim().min(1).max(200),
    quantity: z.number().int().min(1).max(10_000),
  })
  .strict();

export const listOrdersQuery = pageQuery(orderId);

export const orderSchema = z
  .object({
    id: orderId,
    object: z.literal("order"),
    userId: z.string(),
    item: z.string(),
    quantity: z.number().int(),
    status: z.string(),
    createdAt: z.iso.datetime(),
  })
  .strict()
  .meta({ id: "Order", description: "An order, as its owner sees it" });
export type Order = z.infer<typeof orderSchema>;

export const orderList = listOf(orderSchema);
