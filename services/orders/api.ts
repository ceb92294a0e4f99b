import { idempotencyKey } from "../shared/idempotency.ts";
import { operations } from "../shared/operation.ts";
import { createOrderBody, listOrdersQuery, orderId, orderList, orderSchema } from "./contract.ts";

export const ordersApi = operations([
  {
    id: "createOrder",
    method: "post",
    path: "/v1/orders",
    summary: "Place an order; a repeat under the same Idempotency-Key answers the first one",
    headers: { "Idempotency-Key": idempotencyKey.optional() },
    body: { json: createOrderBody },
    success: { status: 201, json: orderSchema },
  },
  {
    id: "listOrders",
    method: "get",
    path: "/v1/orders",
    summary: "The caller's orders, newest first, a page at a time",
    query: listOrdersQuery,
    success: { json: orderList },
  },
  {
    id: "getOrder",
    method: "get",
    path: "/v1/orders/:id",
    summary: "One of the caller's orders",
    params: { id: orderId },
    success: { json: orderSchema },
  },
]);
