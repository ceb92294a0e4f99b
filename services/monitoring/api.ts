import { z } from "zod";
import { operations } from "../shared/operation.ts";
import { overviewSchema } from "./contract.ts";

const adminToken = { "x-admin-token": z.string().min(1) };

export const monitoringApi = operations([
  {
    id: "monitoringOverview",
    method: "get",
    path: "/v1/monitoring",
    summary: "Health and figures of every replica of every tier and service (admin token)",
    headers: adminToken,
    success: { json: overviewSchema },
  },
  {
    id: "monitoringStatusPage",
    method: "get",
    path: "/v1/monitoring/status",
    summary: "The same, as a status page for a browser (admin token)",
    headers: adminToken,
    success: { contentType: "text/html" },
  },
]);
