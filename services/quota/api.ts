import { operations } from "../shared/operation.ts";

export const quotaApi = operations([
  {
    id: "quotaStatus",
    method: "get",
    path: "/v1/quota",
    summary: "The caller's plan, today's requests and tokens, and what is left",
  },
]);
