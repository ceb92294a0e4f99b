import type { Express } from "express";
import { notFound } from "../shared/errors.ts";
import { idempotencyOf, sendCreated } from "../shared/idempotency.ts";
import { listBody } from "../shared/pagination.ts";
import { principalFrom } from "../shared/principal.ts";
import { jsonBody, parse } from "../shared/validation.ts";
import { createOrderBody, listOrdersQuery, orderId } from "./contract.ts";
import type { OrderStore } from "./store.ts";

export function orderRoutes(app: Express, orders: OrderStore): void {
  app.post("/v1/orders", ...jsonBody("16kb"), async (req, res) => {
    res.locals.route = "/v1/orders";
    const { userId } = principalFrom(req.headers);
    const input = parse(createOrderBody, req.body);
    sendCreated(res, await orders.create(userId, input, idempotencyOf(req.headers, input)));
  });

  app.get("/v1/orders", async (req, res) => {
    res.locals.route = "/v1/orders";
    const { userId } = principalFrom(req.headers);
    res.json(listBody(await orders.list(userId, parse(listOrdersQuery, req.query, "query"))));
  });

  app.get("/v1/orders/:id", async (req, res) => {
    res.locals.route = "/v1/orders";
    const { userId } = principalFrom(req.headers);
    const id = parse(orderId, req.params.id, "id");
    const order = await orders.get(userId, id);
    if (!order) throw notFound("order_not_found", `no order ${id}`);
    res.json(order);
  });
}
