import { idempotencyKey } from "../shared/idempotency.ts";
import { operations } from "../shared/operation.ts";
import {
  createJobBody,
  evaluateBody,
  evaluationSchema,
  jobId,
  listJobsQuery,
  trainingJobList,
  trainingJobSchema,
} from "./contract.ts";

export const trainingApi = operations([
  {
    id: "createTrainingJob",
    method: "post",
    path: "/v1/training/jobs",
    summary: "Queue a training job on an uploaded or inline corpus",
    headers: { "Idempotency-Key": idempotencyKey.optional() },
    body: { json: createJobBody },
    success: { status: 202, json: trainingJobSchema },
  },
  {
    id: "listTrainingJobs",
    method: "get",
    path: "/v1/training/jobs",
    summary: "The caller's training jobs, a page at a time",
    query: listJobsQuery,
    success: { json: trainingJobList },
  },
  {
    id: "getTrainingJob",
    method: "get",
    path: "/v1/training/jobs/:id",
    summary: "One of the caller's training jobs, with its state",
    params: { id: jobId },
    success: { json: trainingJobSchema },
  },
  {
    id: "evaluateTrainingJob",
    method: "post",
    path: "/v1/training/jobs/:id/evaluations",
    summary: "Score a succeeded job's model on held-out text (cross-entropy, lower is better)",
    params: { id: jobId },
    body: { json: evaluateBody },
    success: { json: evaluationSchema },
  },
  {
    id: "registerTrainingJob",
    method: "post",
    path: "/v1/training/jobs/:id/register",
    summary: "Register a succeeded job's model as a new version (a job made with register: false)",
    params: { id: jobId },
    success: { json: trainingJobSchema },
  },
]);
