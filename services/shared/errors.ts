// Errors answered as the OpenAI API shapes them: {"error": {"message", "type", "code"}}, so that
// OpenAI-compatible clients surface them unchanged.

export type ErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "rate_limit_error"
  | "api_error"
  | "service_unavailable";

/**
 * Set to `false` on a refusal (a 503) whose request was never acted on, nor sent to a service:
 * a client may send it again, even an unkeyed write, without doing anything twice. Absent when
 * that is not known.
 */
export const PROCESSED_HEADER = "x-request-processed";

export class ApiError extends Error {
  readonly status: number;
  readonly type: ErrorType;
  readonly code: string;
  readonly param: string | null;
  /**
   * What went wrong inside (an upstream's own words, a library's error): written to the log
   * with the request id, never sent, so that the answer's message stays one stable sentence.
   */
  detail: string | undefined;
  constructor(status: number, type: ErrorType, code: string, message: string, param?: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.type = type;
    this.code = code;
    this.param = param ?? null;
  }

  withDetail(detail: string): this {
    this.detail = detail;
    return this;
  }

  body(requestId?: string): ErrorBody {
    return errorBody(this.message, this.type, this.code, this.param, requestId);
  }
}

export interface ErrorBody {
  error: {
    message: string;
    type: ErrorType;
    code: string;
    param: string | null;
    request_id?: string;
  };
}

export function errorBody(
  message: string,
  type: ErrorType,
  code: string,
  param: string | null = null,
  requestId?: string,
): ErrorBody {
  return { error: { message, type, code, param, ...(requestId ? { request_id: requestId } : {}) } };
}

export const badRequest = (code: string, message: string, param?: string) =>
  new ApiError(400, "invalid_request_error", code, message, param);
export const unauthorized = (message: string) =>
  new ApiError(401, "authentication_error", "invalid_api_key", message);
export const notFound = (code: string, message: string) =>
  new ApiError(404, "not_found_error", code, message);
/** A per-user limit (keys, files, jobs): not the caller's input, and no retry will help. */
export const limitReached = (code: string, message: string) =>
  new ApiError(403, "permission_error", code, message);
export const unavailable = (code: string, message: string) =>
  new ApiError(503, "service_unavailable", code, message);
export const routeNotFound = (method: string, path: string) =>
  new ApiError(404, "invalid_request_error", "route_not_found", `no route for ${method} ${path}`);
