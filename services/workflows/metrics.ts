import { Counter, Gauge, Histogram } from "prom-client";
import type { Metrics } from "../shared/metrics.ts";

/** The engine's and the scheduler's figures on /metrics, beside every program's request metrics. */
export function workflowMetrics(
  metrics: Metrics,
  stored: { runs(): Promise<Record<string, number>>; schedules(): Promise<number> },
) {
  return {
    runs: new Counter({
      name: "workflow_runs_finished_total",
      help: "Workflow runs this replica finished, by outcome (succeeded, failed, cancelled)",
      labelNames: ["outcome"] as const,
      registers: [metrics.registry],
    }),
    steps: new Counter({
      name: "workflow_steps_total",
      help: "Workflow steps this replica finished, by outcome (succeeded, skipped, failed)",
      labelNames: ["outcome"] as const,
      registers: [metrics.registry],
    }),
    stepSeconds: new Histogram({
      name: "workflow_step_call_seconds",
      help: "Time of one attempt of a call step, by outcome (succeeded, retried)",
      labelNames: ["outcome"] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [metrics.registry],
    }),
    firings: new Counter({
      name: "workflow_schedule_firings_total",
      help: "Schedule firings this replica handled, by outcome (started, duplicate, refused)",
      labelNames: ["outcome"] as const,
      registers: [metrics.registry],
    }),
    firingDelay: new Histogram({
      name: "workflow_schedule_firing_delay_seconds",
      help: "From a firing's cron time to its run's start",
      buckets: [0.5, 1, 2, 5, 10, 20, 30, 45, 60, 120],
      registers: [metrics.registry],
    }),
    runsByStatus: new Gauge({
      name: "workflow_runs",
      help: "Workflow runs stored, by status (read from PostgreSQL at each scrape)",
      labelNames: ["status"] as const,
      registers: [metrics.registry],
      async collect() {
        this.reset();
        for (const [status, n] of Object.entries(await stored.runs())) this.set({ status }, n);
      },
    }),
    schedules: new Gauge({
      name: "workflow_schedules",
      help: "Schedules stored (read from PostgreSQL at each scrape)",
      registers: [metrics.registry],
      async collect() {
        this.set(await stored.schedules());
      },
    }),
  };
}

export type WorkflowMetrics = ReturnType<typeof workflowMetrics>;
