import { Readable } from "node:stream";
import { Pool } from "undici";
import {
  DEFAULT_RETRY,
  sendWithRetries,
  type HttpAnswer,
  type HttpRequest,
  type RetryPolicy,
} from "./retry.ts";

// HTTP in Node's threads: one keep-alive connection pool per origin (undici), under the shared
// retry rules (retry.ts).

/** Keep-alive pools by origin, for one thread. */
export class Transport {
  private readonly pools = new Map<string, Pool>();
  readonly policy: RetryPolicy;

  constructor(policy: Partial<RetryPolicy> = {}) {
    this.policy = { ...DEFAULT_RETRY, ...policy };
  }

  private pool(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, {
        connections: 64,
        keepAliveTimeout: 30_000,
        headersTimeout: this.policy.timeoutMs,
        bodyTimeout: this.policy.timeoutMs,
      });
      this.pools.set(origin, pool);
    }
    return pool;
  }

  /** One attempt. */
  async once(req: HttpRequest): Promise<HttpAnswer> {
    const body = req.body?.();
    const res = await this.pool(req.origin).request({
      method: req.method as "GET",
      path: req.path,
      headers: req.headers,
      body:
        body === undefined || typeof body === "string" || body instanceof Uint8Array
          ? body
          : Readable.from(body),
    });
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers))
      if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(", ") : v;
    return {
      status: res.statusCode,
      headers,
      body: res.body,
      text: () => res.body.text(),
    };
  }

  /** The answer to `req` under the retry rules (retry.ts `sendWithRetries`). */
  send(req: HttpRequest, onRetry?: (attempt: number, why: string) => void): Promise<HttpAnswer> {
    return sendWithRetries((r) => this.once(r), this.policy, req, onRetry);
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close()));
    this.pools.clear();
  }
}
