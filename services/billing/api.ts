import { operations } from "../shared/operation.ts";
import { poisonList } from "../shared/poison.ts";
import { poisonQuery, priceList, usageQuery, usageReport, userIdParam } from "./contract.ts";

export const billingApi = operations([
  {
    id: "billingUsage",
    method: "get",
    path: "/v1/billing/usage",
    summary: "The caller's usage and its price for a month",
    query: usageQuery,
    success: { json: usageReport },
  },
  {
    id: "billingUserUsage",
    method: "get",
    path: "/v1/billing/users/:userId/usage",
    summary: "Any user's usage and its price for a month (admins)",
    params: { userId: userIdParam },
    query: usageQuery,
    success: { json: usageReport },
  },
  {
    id: "billingPrices",
    method: "get",
    path: "/v1/billing/prices",
    summary: "The price of each model's tokens",
    success: { json: priceList },
  },
  {
    id: "billingPoison",
    method: "get",
    path: "/v1/billing/poison",
    summary: "Usage events billing could not read (admins)",
    query: poisonQuery,
    success: { json: poisonList },
  },
]);
