import { operations } from "../shared/operation.ts";
import {
  createUserBody,
  listUsersQuery,
  planBody,
  planName,
  updateUserBody,
  userId,
} from "./contract.ts";

export const userApi = operations([
  {
    id: "listPlans",
    method: "get",
    path: "/v1/users/plans",
    summary: "Every plan, with its limits and models",
  },
  {
    id: "getPlan",
    method: "get",
    path: "/v1/users/plans/:name",
    summary: "One plan",
    params: { name: planName },
  },
  {
    id: "putPlan",
    method: "put",
    path: "/v1/users/plans/:name",
    summary: "Create or change a plan (admins)",
    params: { name: planName },
    body: { json: planBody },
  },
  {
    id: "getMe",
    method: "get",
    path: "/v1/users/me",
    summary: "The caller's own user record",
  },
  {
    id: "listUsers",
    method: "get",
    path: "/v1/users",
    summary: "Every user, a page at a time (admins)",
    query: listUsersQuery,
  },
  {
    id: "createUser",
    method: "post",
    path: "/v1/users",
    summary: "Create a user (admins)",
    body: { json: createUserBody },
    success: { status: 201 },
  },
  {
    id: "getUser",
    method: "get",
    path: "/v1/users/:id",
    summary: "A user's record (the caller's own, or any for an admin)",
    params: { id: userId },
  },
  {
    id: "updateUser",
    method: "patch",
    path: "/v1/users/:id",
    summary: "Change a user's email, name or plan (admins)",
    params: { id: userId },
    body: { json: updateUserBody },
  },
  {
    id: "deleteUser",
    method: "delete",
    path: "/v1/users/:id",
    summary: "Delete a user (admins)",
    params: { id: userId },
  },
]);
