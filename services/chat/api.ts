import { modelPageQuery } from "../model/contract.ts";
import { operations } from "../shared/operation.ts";
import { chatCompletionBody, conversationId, CONVERSATION_HEADER } from "./contract.ts";

export const chatApi = operations([
  {
    id: "listModels",
    method: "get",
    path: "/v1/models",
    summary: "The models the caller may complete with (OpenAI's models API)",
    query: modelPageQuery,
  },
  {
    id: "getModel",
    method: "get",
    path: "/v1/models/:id",
    summary: "One model the caller may use",
    params: { id: chatCompletionBody.shape.model },
  },
  {
    id: "createChatCompletion",
    method: "post",
    path: "/v1/chat/completions",
    summary:
      "A chat completion (OpenAI's and DeepSeek's API); `stream: true` answers server-sent events",
    headers: { [CONVERSATION_HEADER]: conversationId.optional() },
    body: { json: chatCompletionBody },
    streams: true,
  },
]);
