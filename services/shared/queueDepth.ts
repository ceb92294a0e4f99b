import type { Logger } from "./logger.ts";

// A queue's depth for the scaling that follows it on AWS (catalog `queueScaling`): written to
// the log as Embedded Metric Format, which the task's awslogs driver ships and CloudWatch turns
// into a metric. No API call and no credentials: the log line is the report.

/** One EMF record: `metrics` under `namespace`, with `dimensions`, at `at` (ms). */
export function emfRecord(
  namespace: string,
  dimensions: Record<string, string>,
  metrics: Record<string, number>,
  at: number,
): Record<string, unknown> {
  return {
    _aws: {
      Timestamp: at,
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          Dimensions: [Object.keys(dimensions)],
          Metrics: Object.keys(metrics).map((Name) => ({ Name, Unit: "Count" })),
        },
      ],
    },
    ...dimensions,
    ...metrics,
  };
}

/**
 * Logs the depth `read` answers every `everyMs` as an EMF record named `metric`, dimension
 * `Service`; answers the function that stops it. A read that fails is logged and skipped.
 */
export function reportQueueDepth(a: {
  logger: Logger;
  namespace: string;
  service: string;
  metric: string;
  read: () => Promise<number>;
  everyMs?: number;
}): () => void {
  const report = async () => {
    try {
      const depth = await a.read();
      a.logger.info(
        emfRecord(a.namespace, { Service: a.service }, { [a.metric]: depth }, Date.now()),
        "queue depth",
      );
    } catch (err) {
      a.logger.warn({ err }, "queue depth not read");
    }
  };
  const timer = setInterval(() => void report(), a.everyMs ?? 15_000);
  void report();
  return () => clearInterval(timer);
}
