import { analyticsApi } from "../analytics/api.ts";
import { articlesApi } from "../articles/api.ts";
import { authApi } from "../auth/api.ts";
import { billingApi } from "../billing/api.ts";
import { chatApi } from "../chat/api.ts";
import { mcpApi } from "../mcp/api.ts";
import { monitoringApi } from "../monitoring/api.ts";
import { ordersApi } from "../orders/api.ts";
import { quotaApi } from "../quota/api.ts";
import type { Operation } from "../shared/operation.ts";
import { storageApi } from "../storage/api.ts";
import { trainingApi } from "../training/api.ts";
import { userApi } from "../user/api.ts";
import { videosApi } from "../video/api.ts";
import { workflowsApi } from "../workflows/api.ts";

/**
 * The public operations each catalog service publishes (its `api.ts`), by service name. A service
 * with public routes adds its line here; services/api/openapi.test.ts fails until it does.
 */
export const publishedOperations: Record<string, readonly Operation[]> = {
  analytics: analyticsApi,
  articles: articlesApi,
  auth: authApi,
  billing: billingApi,
  chat: chatApi,
  mcp: mcpApi,
  monitoring: monitoringApi,
  orders: ordersApi,
  quota: quotaApi,
  storage: storageApi,
  training: trainingApi,
  user: userApi,
  video: videosApi,
  workflows: workflowsApi,
};
