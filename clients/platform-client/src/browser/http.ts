import {
  DEFAULT_RETRY,
  sendWithRetries,
  type HttpAnswer,
  type HttpRequest,
  type RetryPolicy,
} from "../retry.ts";

// HTTP in the browser's Web Workers: fetch, under the same retry rules as Node's threads. The
// browser keeps its own keep-alive connections per origin.

export class FetchTransport {
  readonly policy: RetryPolicy;

  constructor(policy: Partial<RetryPolicy> = {}) {
    this.policy = { ...DEFAULT_RETRY, ...policy };
  }

  async once(req: HttpRequest): Promise<HttpAnswer> {
    const body = req.body?.();
    if (body !== undefined && typeof body !== "string" && !(body instanceof Uint8Array))
      throw new Error("the browser transport sends strings and bytes only");
    const res = await fetch(`${req.origin}${req.path}`, {
      method: req.method,
      headers: req.headers,
      ...(body !== undefined ? { body: body as string } : {}),
    });
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => (headers[k] = v));
    const stream = res.body;
    return {
      status: res.status,
      headers,
      body: {
        async *[Symbol.asyncIterator]() {
          if (!stream) return;
          const reader = stream.getReader();
          for (;;) {
            const { done, value } = await reader.read();
            if (done) return;
            yield value;
          }
        },
      },
      text: () => res.text(),
    };
  }

  send(req: HttpRequest, onRetry?: (attempt: number, why: string) => void): Promise<HttpAnswer> {
    return sendWithRetries((r) => this.once(r), this.policy, req, onRetry);
  }
}
