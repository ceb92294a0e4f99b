import { randomBytes } from "node:crypto";
import { ApiError, unavailable, type ErrorBody } from "./errors.ts";
import type { RequestContext } from "./trace.ts";
import {
  NoReplicaError,
  sendToReplicas,
  type ReplicaSet,
  type UpstreamResponse,
} from "./upstream.ts";

// A service's calls to the services it lists in the catalog (`calls`), over the callee's
// replicas with failover (upstream.ts): the trace carried on, a callee's error passed on as
// the same error, and no replica left a 503.

/** The caller's trace, continued with a span of this call's own. */
export function traceHeaders(ctx: RequestContext): Record<string, string> {
  const flags = ctx.traceparent.slice(-2);
  return {
    "x-request-id": ctx.requestId,
    traceparent: `00-${ctx.traceId}-${randomBytes(8).toString("hex")}-${flags}`,
  };
}

export interface ServiceRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  /** A JSON value, or raw bytes sent with the `content-type` in `headers`. */
  body?: unknown;
  /** May it be sent again after a connection broke mid-way (it changes nothing, or only once)? */
  retryable: boolean;
  signal?: AbortSignal;
}

export async function callService(set: ReplicaSet, req: ServiceRequest): Promise<UpstreamResponse> {
  const raw = Buffer.isBuffer(req.body);
  const json = req.body !== undefined && !raw;
  try {
    return await sendToReplicas(set, {
      method: req.method,
      path: req.path,
      headers: { ...(json ? { "content-type": "application/json" } : {}), ...req.headers },
      body: raw ? (req.body as Buffer) : json ? Buffer.from(JSON.stringify(req.body)) : undefined,
      retryable: req.retryable,
      signal: req.signal,
    });
  } catch (err) {
    if (err instanceof NoReplicaError)
      throw unavailable(
        "service_unavailable",
        `the ${set.name} service is unavailable; retry shortly`,
      );
    throw err;
  }
}

/** A service's error answer, passed on as the same error (status, type, code, param). */
export async function errorFrom(
  status: number,
  body: { text(): Promise<string> },
  service: string,
): Promise<ApiError> {
  const text = await body.text();
  try {
    const { error } = JSON.parse(text) as ErrorBody;
    return new ApiError(status, error.type, error.code, error.message, error.param ?? undefined);
  } catch {
    return new ApiError(500, "api_error", "internal_error", `${service} answered ${status}`);
  }
}
