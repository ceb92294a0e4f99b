import { z } from "zod";
import { scrapeTarget } from "../../platform/runtimeEnv.ts";

// What monitoring answers (`GET /v1/monitoring`): the last round of every replica's health and
// figures (scraper.ts builds it, page.ts draws it), published in the API's description and held
// to the real answers in tests.

export const BREAKER_STATES = ["closed", "open", "half-open", "isolated"] as const;
export type BreakerState = (typeof BREAKER_STATES)[number];

const counts = z.record(z.string(), z.number());
const breakerState = z.enum(BREAKER_STATES);

const workflowFigures = z
  .object({
    runs: counts.meta({
      description: "Runs stored, by status (every replica reads the same table: the highest wins)",
    }),
    schedules: z.number(),
    steps: counts.meta({
      description: "Steps finished by any replica since it started, by outcome",
    }),
  })
  .strict();

export const replicaStatus = z
  .object({
    id: z.string(),
    url: z.string(),
    alive: z.boolean().meta({ description: "`/healthz` answered 200: the process is alive" }),
    ready: z.boolean().meta({
      description: "`/readyz` answered 200: it takes traffic, its dependencies reachable",
    }),
    checks: z
      .record(z.string(), z.boolean())
      .meta({ description: 'The readiness checks it reported (`{"postgres": true, ...}`)' }),
    error: z.string().optional(),
    requests: z.number().optional().meta({
      description:
        "Requests answered since the previous round (health checks and scrapes left out)",
    }),
    requestRate: z.number().optional().meta({ description: "The same per second" }),
    errorRate: z.number().optional().meta({ description: "The part of `requestRate` with a 5xx" }),
    latencyP95Ms: z.number().optional().meta({
      description:
        "The p95 answer time since the previous round, in ms: the upper bound of the histogram bucket it falls in (the last bound, 10 000, means 10 s or more); unset when no request was answered",
    }),
    requestsTotal: z.number().optional(),
    uptimeSeconds: z.number().optional(),
    residentMemoryBytes: z.number().optional(),
    breakers: z
      .record(z.string(), breakerState)
      .optional()
      .meta({ description: "A gateway's circuit breakers, by upstream (a service version)" }),
    upstreams: z
      .record(z.string(), z.object({ healthy: z.number(), total: z.number() }).strict())
      .optional()
      .meta({ description: "A gateway's upstream replicas: healthy and known, by upstream" }),
    dlqDepth: z.number().optional().meta({
      description: "A gateway's dead-letter queue: writes parked and not yet delivered",
    }),
    workflows: workflowFigures.optional().meta({
      description: "The workflow engine's figures, from one of its replicas",
    }),
    mcpMessages: z.number().optional().meta({
      description: "MCP messages this replica of the bridge received",
    }),
    render: z
      .object({ scenesWaiting: z.number(), progress: counts, jobs: counts })
      .strict()
      .optional()
      .meta({ description: "A render replica's view of the queue" }),
    videos: counts.optional().meta({ description: "A video replica's count of videos by status" }),
  })
  .strict();
export type ReplicaStatus = z.infer<typeof replicaStatus>;

export const groupStatus = z
  .object({
    kind: scrapeTarget.shape.kind,
    group: z.string(),
    domain: z.string().optional(),
    version: z.string().optional(),
    replicas: z.array(replicaStatus),
    error: z.string().optional().meta({
      description: "Set when the group's replicas could not be listed (a failed DNS lookup)",
    }),
  })
  .strict();
export type GroupStatus = z.infer<typeof groupStatus>;

/** The automation layer at a glance: workflow runs and schedules, and MCP traffic. */
const automation = z.object({ workflows: workflowFigures, mcpMessages: z.number() }).strict();
export type Automation = z.infer<typeof automation>;

/** Layer 6 at a glance: the render queue, each render's progress, videos by status. */
const media = z
  .object({
    scenesWaiting: z.number(),
    renders: z
      .array(z.object({ id: z.string(), progress: z.number() }).strict())
      .meta({ description: "Renders in the making, by video id, 0-1" }),
    jobs: counts.meta({
      description: "Scene renders and joins finished since each replica started, by `kind:outcome`",
    }),
    videos: counts,
  })
  .strict();
export type Media = z.infer<typeof media>;

export const overviewSchema = z
  .object({
    object: z.literal("monitoring.overview"),
    at: z.iso
      .datetime()
      .optional()
      .meta({ description: "When the last round finished; absent before the first" }),
    intervalMs: z.number(),
    rounds: z.number().int().min(0),
    groups: z.array(groupStatus),
    totals: z
      .object({
        groups: z.number().int().min(0),
        replicas: z.number().int().min(0),
        ready: z.number().int().min(0),
        requestRate: z.number(),
      })
      .strict(),
    breakers: z.array(
      z
        .object({
          gateway: z.string(),
          replica: z.string(),
          upstream: z.string(),
          state: breakerState,
        })
        .strict(),
    ),
    dlq: z.array(
      z.object({ gateway: z.string(), replica: z.string(), depth: z.number() }).strict(),
    ),
    automation,
    media,
  })
  .strict()
  .meta({
    id: "MonitoringOverview",
    description: "Health and figures of every replica of every tier and service",
  });
export type Overview = z.infer<typeof overviewSchema>;
