import { operations } from "../shared/operation.ts";
import { poisonQuery, usageQuery, userIdParam } from "./contract.ts";

export const billingApi = operations([
  {
    id: "billingUsage",
    method: "get",
    path: "/v1/billing/usage",
    summary: "The caller's usage and its price for a month",
    query: usageQuery,
  },
  {
    id: "billingUserUsage",
    method: "get",
    path: "/v1/billing/users/:userId/usage",
    summary: "Any user's usage and its price for a month (admins)",
    params: { userId: userIdParam },
    query: usageQuery,
  },
  {
    id: "billingPrices",
    method: "get",
    path: "/v1/billing/prices",
    summary: "The price of each model's tokens",
  },
  {
    id: "billingPoison",
    method: "get",
    path: "/v1/billing/poison",
    summary: "Usage events billing could not read (admins)",
    query: poisonQuery,
  },
]);
