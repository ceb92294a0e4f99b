import { pino } from "pino";
import { Writable } from "node:stream";
import { accessLogger } from "./logger.ts";

// The access logger skips redaction for the fields the access log writes; every other line of
// the same logger is still redacted, and both go to the same place with the same bindings.

test("access lines skip redaction; the logger they come from still redacts", async () => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().trim().split("\n")) lines.push(JSON.parse(line));
      done();
    },
  });
  const logger = pino({ base: { program: "t" }, redact: { paths: ["key"], censor: "[r]" } }, sink);
  expect(accessLogger(logger)).toBe(accessLogger(logger));
  accessLogger(logger).info({ requestId: "r1", route: "/v1/orders", status: 200 });
  logger.info({ key: "sk-secret" }, "other");
  await new Promise((ok) => setImmediate(ok));
  expect(lines[0]).toMatchObject({
    program: "t",
    requestId: "r1",
    route: "/v1/orders",
    status: 200,
  });
  expect(lines[1]).toMatchObject({ program: "t", key: "[r]", msg: "other" });
});
