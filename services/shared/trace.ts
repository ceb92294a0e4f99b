import { randomFillSync, randomUUID } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

/** The request id and W3C trace context of one request, as this process continues it. */
export interface RequestContext {
  requestId: string;
  traceId: string;
  /** This hop's span id; downstream calls carry it as their parent. */
  spanId: string;
  /** The `traceparent` header to send downstream. */
  traceparent: string;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

// Trace and span ids come from one pool of random bytes refilled 4 KiB at a time: a
// `randomBytes` call per id is a getrandom(2) system call and a buffer each, which the router's
// profile showed at about 9% of its busy time. (randomUUID pools the same way.)
const pool = Buffer.alloc(4096);
let offset = pool.length;

function randomHex(bytes: number): string {
  if (offset + bytes > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  offset += bytes;
  return pool.toString("hex", offset - bytes, offset);
}

/** Continues the caller's trace when its headers are well-formed, else starts a new one. */
export function requestContext(headers: IncomingHttpHeaders): RequestContext {
  const incomingId = header(headers, "x-request-id");
  const requestId = incomingId && REQUEST_ID.test(incomingId) ? incomingId : randomUUID();
  const parent = TRACEPARENT.exec(header(headers, "traceparent") ?? "");
  const traceId = parent && parent[1] !== "0".repeat(32) ? parent[1]! : randomHex(16);
  const flags = parent?.[3] ?? "01";
  const spanId = randomHex(8);
  return { requestId, traceId, spanId, traceparent: `00-${traceId}-${spanId}-${flags}` };
}
