import { operations } from "../shared/operation.ts";
import { createBody, keyId, keyList, newKey, ownerQuery, revokedKey, whoami } from "./contract.ts";

export const authApi = operations([
  {
    id: "whoami",
    method: "get",
    path: "/v1/auth/whoami",
    summary: "The principal the caller's key stands for: user, plan and scopes",
    success: { json: whoami },
  },
  {
    id: "listKeys",
    method: "get",
    path: "/v1/auth/keys",
    summary: "The caller's API keys (an admin may name another user)",
    query: ownerQuery,
    success: { json: keyList },
  },
  {
    id: "createKey",
    method: "post",
    path: "/v1/auth/keys",
    summary: "Make an API key, shown once in the answer",
    body: { json: createBody },
    success: { status: 201, json: newKey },
  },
  {
    id: "revokeKey",
    method: "delete",
    path: "/v1/auth/keys/:id",
    summary: "Revoke a key, and the keys it made",
    params: { id: keyId },
    success: { json: revokedKey },
  },
]);
