import { randomUUID } from "node:crypto";
import type { RequestHandler } from "express";
import { Counter, Gauge, type Registry } from "prom-client";
import type { EventBus, PlatformEvent } from "../shared/events.ts";
import type { Logger } from "../shared/logger.ts";

// One event per answered request on `<domain>.requests`, for analytics. The request path only
// appends to a bounded buffer; a timer publishes it in batches, one publish at a time. When the
// bus is slow or down the buffer fills and further events are dropped and counted: analytics is
// worth less than the latency of the requests it describes.

/** What analytics learns of one request (services/analytics reads it). */
export interface RequestEventData {
  requestId: string;
  method: string;
  /** The route group (a catalog prefix, `other`), never a raw path: no ids, no query. */
  route: string;
  status: number;
  upstream: string | null;
  decision: string | null;
  latencyMs: number;
}

export const REQUEST_EVENT = "request.completed";

export interface RequestEventsOptions {
  bus: EventBus;
  topic: string;
  registry: Registry;
  logger: Logger;
  /** Events held while waiting for the bus; more are dropped. Default 10 000. */
  maxBuffered?: number;
  /** Events per publish. Default 500. */
  maxBatch?: number;
  /** How often the buffer is published. Default 250 ms. */
  flushMs?: number;
}

export interface RequestEvents {
  /** Express middleware: place it first, so that it sees every answered request. */
  record: RequestHandler;
  /** Publishes what is buffered (a last try) and stops the timer. */
  close(): Promise<void>;
}

export function requestEvents(opts: RequestEventsOptions): RequestEvents {
  const maxBuffered = opts.maxBuffered ?? 10_000;
  const maxBatch = opts.maxBatch ?? 500;
  const published = new Counter({
    name: "gateway_request_events_published_total",
    help: "Request events handed to the event bus",
    registers: [opts.registry],
  });
  const dropped = new Counter({
    name: "gateway_request_events_dropped_total",
    help: "Request events dropped: buffer_full (the bus is slow) or publish_failed",
    labelNames: ["reason"] as const,
    registers: [opts.registry],
  });
  const buffer: { key: string; event: PlatformEvent }[] = [];
  new Gauge({
    name: "gateway_request_events_buffered",
    help: "Request events waiting to be published",
    registers: [opts.registry],
    collect() {
      this.set(buffer.length);
    },
  });

  let publishing: Promise<void> | undefined;
  const flush = () => {
    if (publishing || buffer.length === 0) return publishing;
    const batch = buffer.splice(0, maxBatch);
    publishing = opts.bus
      .publish(opts.topic, batch)
      .then(
        () => published.inc(batch.length),
        (err: unknown) => {
          dropped.inc({ reason: "publish_failed" }, batch.length);
          opts.logger.warn({ err, events: batch.length }, "request events: publish failed");
        },
      )
      .finally(() => (publishing = undefined));
    return publishing;
  };
  const timer = setInterval(flush, opts.flushMs ?? 250);
  timer.unref();

  const record: RequestHandler = (req, res, next) => {
    const started = performance.now();
    res.once("finish", () => {
      const route = res.locals.route ?? "other";
      // Health checks and scrapes are not traffic.
      if (route === "health") return;
      if (buffer.length >= maxBuffered) {
        dropped.inc({ reason: "buffer_full" });
        return;
      }
      const ctx = res.locals.ctx;
      const data: RequestEventData = {
        requestId: ctx.requestId,
        method: req.method,
        route,
        status: res.statusCode,
        upstream: res.locals.upstream ?? null,
        decision: res.locals.decision ?? null,
        latencyMs: Math.round((performance.now() - started) * 100) / 100,
      };
      buffer.push({
        key: ctx.requestId,
        event: { id: randomUUID(), type: REQUEST_EVENT, at: new Date().toISOString(), data },
      });
    });
    next();
  };

  return {
    record,
    async close() {
      clearInterval(timer);
      await publishing;
      while (buffer.length > 0) await flush();
    },
  };
}
