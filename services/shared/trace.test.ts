import { requestContext } from "./trace.ts";

test("continues a well-formed trace and request id, with a span of its own", () => {
  const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
  const ctx = requestContext({
    "x-request-id": "req-123",
    traceparent: `00-${traceId}-00f067aa0ba902b7-00`,
  });
  expect(ctx.requestId).toBe("req-123");
  expect(ctx.traceId).toBe(traceId);
  expect(ctx.spanId).toMatch(/^[0-9a-f]{16}$/);
  expect(ctx.spanId).not.toBe("00f067aa0ba902b7");
  expect(ctx.traceparent).toBe(`00-${traceId}-${ctx.spanId}-00`);
});

test("starts a new trace when the caller's headers are malformed or all-zero", () => {
  for (const traceparent of ["junk", `00-${"0".repeat(32)}-00f067aa0ba902b7-01`]) {
    const ctx = requestContext({ traceparent, "x-request-id": "bad id with spaces" });
    expect(ctx.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(ctx.traceId).not.toBe("0".repeat(32));
    expect(ctx.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(ctx.traceparent).toBe(`00-${ctx.traceId}-${ctx.spanId}-01`);
  }
});

test("ids stay unique across many requests, past every refill of the random pool", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2_000; i++) {
    const ctx = requestContext({});
    seen.add(ctx.traceId);
    seen.add(ctx.spanId);
  }
  expect(seen.size).toBe(4_000);
});
