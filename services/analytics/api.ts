import { operations } from "../shared/operation.ts";
import { poisonList } from "../shared/poison.ts";
import {
  ordersReport,
  poisonQuery,
  requestsQuery,
  requestsReport,
  usageReport,
  windowQuery,
} from "./contract.ts";

export const analyticsApi = operations([
  {
    id: "analyticsRequests",
    method: "get",
    path: "/v1/analytics/requests",
    summary: "Requests through the business tier over a time window (admins)",
    query: requestsQuery,
    success: { json: requestsReport },
  },
  {
    id: "analyticsUsage",
    method: "get",
    path: "/v1/analytics/usage",
    summary: "Chat usage over a time window (admins)",
    query: windowQuery,
    success: { json: usageReport },
  },
  {
    id: "analyticsOrders",
    method: "get",
    path: "/v1/analytics/orders",
    summary: "Orders over a time window (admins)",
    query: windowQuery,
    success: { json: ordersReport },
  },
  {
    id: "analyticsPoison",
    method: "get",
    path: "/v1/analytics/poison",
    summary: "Events analytics could not read (admins)",
    query: poisonQuery,
    success: { json: poisonList },
  },
]);
