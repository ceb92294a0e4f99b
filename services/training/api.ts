import { operations } from "../shared/operation.ts";
import { createJobBody, jobId, listJobsQuery } from "./contract.ts";

export const trainingApi = operations([
  {
    id: "createTrainingJob",
    method: "post",
    path: "/v1/training/jobs",
    summary: "Queue a training job on an uploaded or inline corpus",
    body: { json: createJobBody },
    success: { status: 202 },
  },
  {
    id: "listTrainingJobs",
    method: "get",
    path: "/v1/training/jobs",
    summary: "The caller's training jobs, a page at a time",
    query: listJobsQuery,
  },
  {
    id: "getTrainingJob",
    method: "get",
    path: "/v1/training/jobs/:id",
    summary: "One of the caller's training jobs, with its state",
    params: { id: jobId },
  },
]);
