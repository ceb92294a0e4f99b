import { once } from "node:events";
import { connect, type AddressInfo } from "node:net";
import { pino } from "pino";
import { clientTimeouts, createApp, createHttpServer, finishApp } from "./http.ts";
import { createMetrics } from "./metrics.ts";

async function readyz(opts: Partial<Parameters<typeof createApp>[0]>) {
  const logger = pino({ level: "silent" });
  const app = createApp({
    logger,
    metrics: createMetrics("test"),
    ready: async () => ({}),
    ...opts,
  });
  finishApp(app, logger);
  const server = app.listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  } finally {
    server.close();
  }
}

describe("/readyz", () => {
  test("a dependency of this replica's own decides readiness", async () => {
    expect((await readyz({ ready: async () => ({ postgres: false }) })).status).toBe(503);
    expect((await readyz({ ready: async () => ({ postgres: true }) })).status).toBe(200);
  });

  test("upstreams are reported but never take a proxy out of rotation (no cascade)", async () => {
    const res = await readyz({ upstreams: async () => ({ orders: false }) });
    expect(res.status).toBe(200);
    expect(res.body["upstreams"]).toEqual({ orders: false });
  });

  test("a draining process is not ready", async () => {
    expect((await readyz({ draining: () => true })).status).toBe(503);
  });
});

describe("slowloris bounds", () => {
  /** Writes `sent` on a raw connection, then waits for the server to answer and hang up. */
  async function trickle(sent: string): Promise<string> {
    const server = createHttpServer(
      (req, res) => {
        // A handler that waits for the whole body, as a gateway reading an upload does.
        req.resume();
        req.once("end", () => res.end("{}"));
      },
      clientTimeouts({ HEADERS_TIMEOUT_MS: "200", REQUEST_TIMEOUT_MS: "400" }),
    );
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    try {
      const socket = connect((server.address() as AddressInfo).port, "127.0.0.1");
      socket.write(sent);
      let answer = "";
      socket.setEncoding("utf8").on("data", (d: string) => (answer += d));
      // The connection's end is the proof that it was closed; nothing here measures time.
      await once(socket, "close");
      return answer;
    } finally {
      server.close();
    }
  }

  test.each([
    ["half-sent headers", "POST /v1/orders HTTP/1.1\r\nhost: x\r\ncontent-le"],
    [
      "a body that stops coming",
      "POST /v1/orders HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{",
    ],
  ])("%s: a JSON 408 and the connection closed", async (_case, sent) => {
    const answer = await trickle(sent);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(answer).toMatch(/\r\nconnection: close\r\n/i);
    const body = JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)) as {
      error: { code: string };
    };
    expect(body.error.code).toBe("request_timeout");
  });

  test("the bounds are validated at start, naming the variable", () => {
    expect(() => clientTimeouts({ HEADERS_TIMEOUT_MS: "soon" })).toThrow(/HEADERS_TIMEOUT_MS/);
    expect(() =>
      clientTimeouts({ HEADERS_TIMEOUT_MS: "5000", REQUEST_TIMEOUT_MS: "1000" }),
    ).toThrow(/REQUEST_TIMEOUT_MS: must not be below HEADERS_TIMEOUT_MS/);
    expect(clientTimeouts({})).toEqual({ headersTimeoutMs: 10_000, requestTimeoutMs: 60_000 });
  });
});
