import { modelEntry, modelList, modelPageQuery } from "../model/contract.ts";
import { operations } from "../shared/operation.ts";
import {
  chatCompletion,
  chatCompletionBody,
  conversationId,
  CONVERSATION_HEADER,
} from "./contract.ts";

export const chatApi = operations([
  {
    id: "listModels",
    method: "get",
    path: "/v1/models",
    summary: "The models the caller may complete with (OpenAI's models API)",
    query: modelPageQuery,
    success: { json: modelList },
  },
  {
    id: "getModel",
    method: "get",
    path: "/v1/models/:id",
    summary: "One model the caller may use",
    params: { id: chatCompletionBody.shape.model },
    success: { json: modelEntry },
  },
  {
    id: "createChatCompletion",
    method: "post",
    path: "/v1/chat/completions",
    summary:
      "A chat completion (OpenAI's and DeepSeek's API); `stream: true` answers server-sent events",
    headers: { [CONVERSATION_HEADER]: conversationId.optional() },
    body: { json: chatCompletionBody },
    success: {
      json: chatCompletion,
      description: "The completion whole, or with `stream: true` its chunks as server-sent events",
    },
    streams: true,
  },
]);
