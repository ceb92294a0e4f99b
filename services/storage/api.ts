import { z } from "zod";
import { operations } from "../shared/operation.ts";
import {
  deletedFile,
  fileId,
  fileList,
  fileObject,
  listFilesQuery,
  publicPurpose,
} from "./contract.ts";

export const storageApi = operations([
  {
    id: "uploadFile",
    method: "post",
    path: "/v1/files",
    summary: "Upload a text corpus (OpenAI's files API), as multipart/form-data",
    body: {
      multipart: z.object({
        file: z.string().meta({ format: "binary", description: "a text/plain file" }),
        purpose: publicPurpose,
      }),
    },
    success: { json: fileObject },
  },
  {
    id: "listFiles",
    method: "get",
    path: "/v1/files",
    summary: "The caller's files, a page at a time",
    query: listFilesQuery,
    success: { json: fileList },
  },
  {
    id: "getFile",
    method: "get",
    path: "/v1/files/:id",
    summary: "One of the caller's files",
    params: { id: fileId },
    success: { json: fileObject },
  },
  {
    id: "getFileContent",
    method: "get",
    path: "/v1/files/:id/content",
    summary: "A file's bytes",
    params: { id: fileId },
    success: { contentType: "application/octet-stream" },
  },
  {
    id: "deleteFile",
    method: "delete",
    path: "/v1/files/:id",
    summary: "Delete one of the caller's files",
    params: { id: fileId },
    success: { json: deletedFile },
  },
]);
