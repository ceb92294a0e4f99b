import { createHash } from "node:crypto";
import { ConnectionError, PlatformError, UsageError } from "../src/errors.ts";
import { InlineExecutor } from "../src/executor.ts";
import { multipartFile } from "../src/multipart.ts";
import { sseEvents } from "../src/sse.ts";
import { repeatable, retryAfterMs } from "../src/retry.ts";
import { json, KEY, scriptedServer } from "./scriptedServer.ts";

// The task functions' HTTP rules on the caller's thread (the same functions the workers run):
// bounded retries that honour Retry-After, no repeat of what may have been done, clear errors.

const fast = { backoffMs: 5, maxRetries: 3 };

describe("retries", () => {
  it("repeats only what cannot be done twice: reads, PUT, DELETE, keyed creates", () => {
    for (const m of ["GET", "head", "PUT", "DELETE", "OPTIONS"]) expect(repeatable(m)).toBe(true);
    expect(repeatable("POST")).toBe(false);
    expect(repeatable("PATCH")).toBe(false);
    expect(repeatable("POST", "order-7")).toBe(true);
    expect(repeatable("POST", "")).toBe(false);
  });

  it("a 429 storm: Retry-After honoured, four attempts, then the platform's error", async () => {
    const server = await scriptedServer((_req, res) =>
      json(
        res,
        429,
        {
          error: {
            message: "slow down",
            type: "rate_limit_error",
            code: "rate_limited",
            param: null,
          },
        },
        { "retry-after": "0" },
      ),
    );
    const ex = new InlineExecutor(fast);
    try {
      const err = await ex
        .run("send", { origin: server.origin, key: KEY, method: "GET", path: "/v1/orders" })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PlatformError);
      expect(err).toMatchObject({
        status: 429,
        code: "rate_limited",
        attempts: 4,
        message: "slow down",
      });
      expect(server.seen).toHaveLength(4);
    } finally {
      await ex.close();
      await server.close();
    }
  });

  it("a Retry-After longer than the client waits fails at once, saying how long", async () => {
    const server = await scriptedServer((_req, res) =>
      json(
        res,
        503,
        {
          error: { message: "down", type: "service_unavailable", code: "unavailable", param: null },
        },
        { "retry-after": "120" },
      ),
    );
    const ex = new InlineExecutor(fast);
    try {
      const err = (await ex
        .run("send", { origin: server.origin, key: KEY, method: "GET", path: "/v1/orders" })
        .catch((e: unknown) => e)) as PlatformError;
      expect(err.retryAfterMs).toBe(120_000);
      expect(server.seen).toHaveLength(1);
    } finally {
      await ex.close();
      await server.close();
    }
  });

  it("a POST without an Idempotency-Key is not repeated after a 503; with one it is", async () => {
    let n = 0;
    const server = await scriptedServer((_req, res) =>
      n++ < 2
        ? json(res, 503, {
            error: { message: "try later", type: "service_unavailable", code: "x", param: null },
          })
        : json(res, 201, { id: "ord_1" }),
    );
    const ex = new InlineExecutor(fast);
    try {
      const input = {
        origin: server.origin,
        key: KEY,
        method: "POST" as const,
        path: "/v1/orders",
        body: { item: "pen", quantity: 1 },
      };
      await expect(ex.run("send", input)).rejects.toMatchObject({ status: 503 });
      const made = await ex.run("send", { ...input, idempotencyKey: "k-1" });
      expect(made).toMatchObject({ status: 201, body: { id: "ord_1" }, retries: 1 });
      expect(server.seen.at(-1)!.headers["idempotency-key"]).toBe("k-1");
    } finally {
      await ex.close();
      await server.close();
    }
  });

  it("a 503 marked x-request-processed: false is sent again, even an unkeyed POST", async () => {
    let n = 0;
    const server = await scriptedServer((_req, res) => {
      if (n++ > 0) return json(res, 201, { id: "ord_2" });
      res.setHeader("x-request-processed", "false");
      json(res, 503, {
        error: { message: "not processed", type: "service_unavailable", code: "x", param: null },
      });
    });
    const ex = new InlineExecutor(fast);
    try {
      const made = await ex.run("send", {
        origin: server.origin,
        key: KEY,
        method: "POST",
        path: "/v1/orders",
        body: { item: "pen", quantity: 1 },
      });
      expect(made).toMatchObject({ status: 201, body: { id: "ord_2" }, retries: 1 });
      expect(server.seen).toHaveLength(2);
    } finally {
      await ex.close();
      await server.close();
    }
  });

  it("an unreachable origin: bounded attempts, then an error naming it", async () => {
    const server = await scriptedServer(() => undefined);
    const origin = server.origin;
    await server.close();
    const ex = new InlineExecutor(fast);
    try {
      const err = await ex
        .run("send", { origin, key: KEY, method: "GET", path: "/v1/orders" })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectionError);
      expect((err as Error).message).toMatch(
        new RegExp(`cannot reach ${origin} \\(ECONNREFUSED\\) after 4 attempts`),
      );
    } finally {
      await ex.close();
    }
  });

  it("a malformed key is refused before anything is sent", async () => {
    const ex = new InlineExecutor(fast);
    await expect(
      ex.run("send", { origin: "http://127.0.0.1:1", key: "sk-short", method: "GET", path: "/" }),
    ).rejects.toThrow(UsageError);
    await ex.close();
    expect(retryAfterMs("3")).toBe(3000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(retryAfterMs("soon")).toBeUndefined();
  });
});

describe("streams and files", () => {
  async function* split(text: string, every: number) {
    const bytes = new TextEncoder().encode(text);
    for (let i = 0; i < bytes.length; i += every) yield bytes.subarray(i, i + every);
  }

  it("reads SSE blocks cut anywhere, even inside a character", async () => {
    const text =
      'data: {"a":"é"}\n\n: comment\n\nevent: x\ndata: 1\ndata: 2\r\n\r\ndata: [DONE]\n\n';
    for (const every of [1, 3, 7, 1000]) {
      const events = [];
      for await (const e of sseEvents(split(text, every))) events.push(e);
      expect(events).toEqual([
        { data: '{"a":"é"}' },
        { event: "x", data: "1\n2" },
        { data: "[DONE]" },
      ]);
    }
  });

  it("frames a file as multipart with its length and hashes it on the way", async () => {
    const content = new TextEncoder().encode("line\n".repeat(1000));
    const form = multipartFile(
      { purpose: "fine-tune" },
      {
        filename: 'a "b".txt',
        contentType: "text/plain",
        size: content.length,
        chunks: () => split("line\n".repeat(1000), 333),
      },
    );
    const parts: Uint8Array[] = [];
    const progress: number[] = [];
    for await (const c of form.stream((n) => progress.push(n))) parts.push(c);
    const body = Buffer.concat(parts);
    expect(body.length).toBe(form.length);
    expect(progress.at(-1)).toBe(content.length);
    expect(form.sha256()).toBe(createHash("sha256").update(content).digest("hex"));
    const parsed = await new Response(body, {
      headers: { "content-type": form.contentType },
    }).formData();
    expect(parsed.get("purpose")).toBe("fine-tune");
    expect((parsed.get("file") as File).name).toBe('a "b".txt');
    expect((parsed.get("file") as File).size).toBe(content.length);
  });
});
