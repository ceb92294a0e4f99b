import { createHash } from "node:crypto";
import type { Express } from "express";
import { z } from "zod";
import { ApiError, notFound } from "../shared/errors.ts";
import { principalFrom } from "../shared/principal.ts";
import { jsonBody, parse } from "../shared/validation.ts";
import { createOrderBody as createBody, listOrdersQuery as listQuery } from "./contract.ts";
import type { OrderStore } from "./store.ts";

const orderId = z.string().regex(/^ord_[0-9a-f]{24}$/, "must be an order id (ord_...)");
const idempotencyKey = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,128}$/, "must be 1-128 characters of A-Z a-z 0-9 _ . : -");

export function orderRoutes(app: Express, orders: OrderStore): void {
  app.post("/v1/orders", ...jsonBody("16kb"), async (req, res) => {
    res.locals.route = "/v1/orders";
    const { userId } = principalFrom(req.headers);
    const input = parse(createBody, req.body);
    const rawKey = req.headers["idempotency-key"];
    const key = rawKey === undefined ? undefined : parse(idempotencyKey, rawKey, "Idempotency-Key");
    const requestHash = createHash("sha256").update(JSON.stringify(input)).digest("hex");
    const result = await orders.create(userId, input, key ? { key, requestHash } : undefined);
    if (result.kind === "conflict") {
      throw new ApiError(
        409,
        "invalid_request_error",
        "idempotency_key_reused",
        "this Idempotency-Key was used for a different request",
      );
    }
    if (result.kind === "replayed") res.setHeader("idempotent-replayed", "true");
    res.status(201).json(result.order);
  });

  app.get("/v1/orders", async (req, res) => {
    res.locals.route = "/v1/orders";
    const { userId } = principalFrom(req.headers);
    const { limit, after } = parse(listQuery, req.query, "query");
    const page = await orders.list(userId, limit, after);
    res.json({ object: "list", data: page.orders, has_more: page.hasMore });
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
