import { operations } from "../shared/operation.ts";
import { poisonQuery, requestsQuery, windowQuery } from "./contract.ts";

export const analyticsApi = operations([
  {
    id: "analyticsRequests",
    method: "get",
    path: "/v1/analytics/requests",
    summary: "Requests through the business tier over a time window (admins)",
    query: requestsQuery,
  },
  {
    id: "analyticsUsage",
    method: "get",
    path: "/v1/analytics/usage",
    summary: "Chat usage over a time window (admins)",
    query: windowQuery,
  },
  {
    id: "analyticsOrders",
    method: "get",
    path: "/v1/analytics/orders",
    summary: "Orders over a time window (admins)",
    query: windowQuery,
  },
  {
    id: "analyticsPoison",
    method: "get",
    path: "/v1/analytics/poison",
    summary: "Events analytics could not read (admins)",
    query: poisonQuery,
  },
]);
