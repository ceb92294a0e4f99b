import { pino } from "pino";
import { emfRecord, reportQueueDepth } from "./queueDepth.ts";

// The queue depth as CloudWatch's Embedded Metric Format reads it: `_aws` with the namespace,
// the dimension names and the metric names, and the values beside it at the top level.

test("an EMF record names its namespace, dimensions and metrics, values at the top level", () => {
  expect(
    emfRecord("Platform/platform-dev", { Service: "render" }, { render_scenes_waiting: 7 }, 1000),
  ).toEqual({
    _aws: {
      Timestamp: 1000,
      CloudWatchMetrics: [
        {
          Namespace: "Platform/platform-dev",
          Dimensions: [["Service"]],
          Metrics: [{ Name: "render_scenes_waiting", Unit: "Count" }],
        },
      ],
    },
    Service: "render",
    render_scenes_waiting: 7,
  });
});

test("each report is one JSON log line CloudWatch can take as it is", async () => {
  const lines: string[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(line) });
  const stop = reportQueueDepth({
    logger,
    namespace: "Platform/p",
    service: "render",
    metric: "render_scenes_waiting",
    read: async () => 3,
    everyMs: 10,
  });
  await new Promise((ok) => setTimeout(ok, 50));
  stop();
  const records = lines
    .flatMap((l) => l.split("\n"))
    .filter((l) => l.includes('"_aws"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(records.length).toBeGreaterThanOrEqual(2);
  expect(records[0]).toMatchObject({
    Service: "render",
    render_scenes_waiting: 3,
    msg: "queue depth",
  });
});
