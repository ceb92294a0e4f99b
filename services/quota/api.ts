import { operations } from "../shared/operation.ts";
import { quotaStatus } from "./contract.ts";

export const quotaApi = operations([
  {
    id: "quotaStatus",
    method: "get",
    path: "/v1/quota",
    summary: "The caller's plan, today's requests and tokens, and what is left",
    success: { json: quotaStatus },
  },
]);
