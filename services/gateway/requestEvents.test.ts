import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Registry } from "prom-client";
import { serveApp } from "../../test/support/serviceApp.ts";
import { kafkaBus } from "../shared/events.ts";
import { createLogger } from "../shared/logger.ts";
import { requestEvents } from "./requestEvents.ts";

// The request path never waits for the bus: with Kafka unreachable (a port where nothing
// listens) requests are answered, the buffer stays bounded, and every event is accounted for as
// published or dropped, by reason. (Delivery to a live Kafka runs in services/analytics.)

process.env["LOG_LEVEL"] ??= "silent";

test("a bus that cannot take events: bounded buffer, drops counted, requests unaffected", async () => {
  // A port that was free a moment ago: connections to it are refused.
  const probe = createServer();
  await new Promise<void>((ok) => probe.listen(0, "127.0.0.1", ok));
  const deadPort = (probe.address() as AddressInfo).port;
  await new Promise((ok) => probe.close(ok));

  const registry = new Registry();
  const bus = kafkaBus(`127.0.0.1:${deadPort}`, "request-events-test");
  // No flush during the requests (the timer is far away): the buffer's bound alone decides.
  const events = requestEvents({
    bus,
    topic: "business.requests",
    registry,
    logger: createLogger("request-events-test"),
    maxBuffered: 5,
    flushMs: 3_600_000,
  });
  const app = await serveApp("gateway", (a) => {
    a.use(events.record);
    a.get("/v1/x", (_req, res) => {
      res.locals.route = "/v1/x";
      res.json({ ok: true });
    });
  });
  try {
    for (let i = 0; i < 20; i++) expect((await fetch(`${app.url}/v1/x`)).status).toBe(200);
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
    const buffered = await registry.getSingleMetric("gateway_request_events_buffered")!.get();
    expect(buffered.values[0]?.value).toBe(5);
  } finally {
    await app.close();
    // The last flush cannot reach Kafka: the five buffered events are dropped, and counted.
    await events.close();
    await bus.close().catch(() => undefined);
  }
  const dropped = await registry.getSingleMetric("gateway_request_events_dropped_total")!.get();
  const byReason = Object.fromEntries(dropped.values.map((v) => [v.labels.reason, v.value]));
  expect(byReason).toEqual({ buffer_full: 15, publish_failed: 5 });
  const published = await registry.getSingleMetric("gateway_request_events_published_total")!.get();
  expect(published.values[0]?.value ?? 0).toBe(0);
});
