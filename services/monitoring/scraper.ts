import { lookup } from "node:dns/promises";
import { Counter, type Registry } from "prom-client";
import type { ScrapeTarget } from "../../platform/runtimeEnv.ts";
import {
  BREAKER_STATES,
  type Automation,
  type BreakerState,
  type GroupStatus,
  type Media,
  type Overview,
  type ReplicaStatus,
} from "./contract.ts";
import { parsePrometheus, sum, type Sample } from "./prometheus.ts";

// Gathers, on an interval, the health and metrics of every replica the targets name: /healthz
// (alive), /readyz (dependencies) and /metrics (Prometheus text), and keeps the last round.
// Request rates are counter deltas between two rounds of the same replica, as Prometheus'
// rate() computes them, a counter reset (a restarted process) counting from zero.

export { BREAKER_STATES };
export type { Automation, BreakerState, GroupStatus, Media, Overview, ReplicaStatus };

export interface ScraperOptions {
  targets: readonly ScrapeTarget[];
  intervalMs: number;
  /** Time allowed for each of a replica's three requests. */
  timeoutMs?: number;
  registry?: Registry;
  /** Milliseconds; injectable so that rates can be checked exactly. */
  now?: () => number;
  onError?: (err: unknown) => void;
}

interface Previous {
  at: number;
  total: number;
  errors: number;
  /** Answers at or under each bucket bound (seconds), cumulated as Prometheus keeps them. */
  buckets: Map<number, number>;
}

/** The served requests' duration buckets of one replica, summed over routes, methods, statuses. */
function durationBuckets(samples: Sample[], served: (l: Record<string, string>) => boolean) {
  const buckets = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== "http_request_duration_seconds_bucket" || !served(s.labels)) continue;
    const le = Number(s.labels["le"] === "+Inf" ? Infinity : s.labels["le"]);
    buckets.set(le, (buckets.get(le) ?? 0) + s.value);
  }
  return buckets;
}

/** The bucket bound (ms) under which 95% of the answers between two rounds fell. */
export function p95Between(
  before: Map<number, number>,
  now: Map<number, number>,
): number | undefined {
  const bounds = [...now.keys()].sort((a, b) => a - b);
  // A restarted process counts from zero: all it holds is new.
  const restarted = bounds.some((le) => (now.get(le) ?? 0) < (before.get(le) ?? 0));
  const delta = (le: number) => (now.get(le) ?? 0) - (restarted ? 0 : (before.get(le) ?? 0));
  const total = bounds.length > 0 ? delta(bounds.at(-1)!) : 0;
  if (total <= 0) return undefined;
  const le = bounds.find((b) => delta(b) >= 0.95 * total)!;
  // Past the last bound there is no upper one: that bound is the floor of what was seen.
  const bound = Number.isFinite(le) ? le : (bounds.filter(Number.isFinite).at(-1) ?? 0);
  return Math.round(bound * 1000 * 100) / 100;
}

export function createScraper(opts: ScraperOptions) {
  const now = opts.now ?? Date.now;
  const timeoutMs = opts.timeoutMs ?? 2_000;
  const previous = new Map<string, Previous>();
  const scrapes = new Counter({
    name: "monitoring_scrapes_total",
    help: "Replica scrapes by group and outcome (ok: /metrics read, failed: not)",
    labelNames: ["group", "outcome"] as const,
    registers: opts.registry ? [opts.registry] : [],
  });
  let groups: GroupStatus[] = opts.targets.map((t) => ({ ...describe(t), replicas: [] }));
  let finishedAt: number | undefined;
  let rounds = 0;

  async function scrapeReplica(
    target: ScrapeTarget,
    replica: { id: string; url: string },
  ): Promise<ReplicaStatus> {
    const get = (path: string) =>
      fetch(`${replica.url}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
    const [health, readiness, metrics] = await Promise.allSettled([
      get("/healthz").then((r) => r.body?.cancel().then(() => r.status) ?? r.status),
      get("/readyz").then(async (r) => ({ status: r.status, body: await r.text() })),
      get("/metrics").then(async (r) => {
        if (r.status !== 200) throw new Error(`/metrics answered ${r.status}`);
        return parsePrometheus(await r.text());
      }),
    ]);
    const status: ReplicaStatus = {
      id: replica.id,
      url: replica.url,
      alive: health.status === "fulfilled" && health.value === 200,
      ready: readiness.status === "fulfilled" && readiness.value.status === 200,
      checks: readiness.status === "fulfilled" ? checksOf(readiness.value.body) : {},
    };
    const failed = [health, readiness, metrics].find((r) => r.status === "rejected");
    if (failed) status.error = reason(failed.reason);
    scrapes.inc({ group: target.group, outcome: metrics.status === "fulfilled" ? "ok" : "failed" });
    if (metrics.status === "fulfilled")
      read(metrics.value, `${target.group}/${replica.id}`, status);
    return status;
  }

  /** Fills in what the samples say: rates from the previous round, gateway state, process facts. */
  function read(samples: Sample[], key: string, status: ReplicaStatus): void {
    const served = (l: Record<string, string>) => l["route"] !== "health";
    const total = sum(samples, "http_requests_total", served);
    const errors = sum(
      samples,
      "http_requests_total",
      (l) => served(l) && /^5/.test(l["status"] ?? ""),
    );
    const at = now();
    const before = previous.get(key);
    const buckets = durationBuckets(samples, served);
    previous.set(key, { at, total, errors, buckets });
    status.requestsTotal = total;
    if (before && at > before.at) {
      const seconds = (at - before.at) / 1000;
      // A smaller counter means the process restarted: all it counted since is new.
      const delta = (a: number, b: number) => (a >= b ? a - b : a);
      status.requests = delta(total, before.total);
      status.requestRate = round2(status.requests / seconds);
      status.errorRate = round2(delta(errors, before.errors) / seconds);
      const p95 = p95Between(before.buckets, buckets);
      if (p95 !== undefined) status.latencyP95Ms = p95;
    }
    const started = samples.find((s) => s.name === "process_start_time_seconds");
    if (started) status.uptimeSeconds = Math.max(0, Math.round(at / 1000 - started.value));
    const memory = samples.find((s) => s.name === "process_resident_memory_bytes");
    if (memory) status.residentMemoryBytes = memory.value;

    const breakers = samples.filter((s) => s.name === "gateway_breaker_state");
    if (breakers.length > 0) {
      status.breakers = Object.fromEntries(
        breakers.map((s) => [s.labels["upstream"] ?? "", BREAKER_STATES[s.value] ?? "open"]),
      );
    }
    const replicaHealth = samples.filter((s) => s.name === "gateway_upstream_replica_healthy");
    if (replicaHealth.length > 0) {
      const upstreams: Record<string, { healthy: number; total: number }> = {};
      for (const s of replicaHealth) {
        const u = (upstreams[s.labels["upstream"] ?? ""] ??= { healthy: 0, total: 0 });
        u.total++;
        if (s.value === 1) u.healthy++;
      }
      status.upstreams = upstreams;
    }
    const dlq = samples.filter((s) => s.name === "gateway_dlq_depth");
    if (dlq.length > 0) status.dlqDepth = dlq.reduce((t, s) => t + s.value, 0);
    const byLabel = (name: string, label: string) =>
      Object.fromEntries(
        samples.filter((s) => s.name === name).map((s) => [s.labels[label] ?? "", s.value]),
      );
    const schedules = samples.find((s) => s.name === "workflow_schedules");
    if (schedules)
      status.workflows = {
        runs: byLabel("workflow_runs", "status"),
        schedules: schedules.value,
        steps: byLabel("workflow_steps_total", "outcome"),
      };
    const waiting = samples.find((s) => s.name === "render_scenes_waiting");
    if (waiting)
      status.render = {
        scenesWaiting: waiting.value,
        progress: byLabel("render_progress", "render"),
        jobs: Object.fromEntries(
          samples
            .filter((s) => s.name === "render_jobs_total")
            .map((s) => [`${s.labels["kind"]}:${s.labels["outcome"]}`, s.value]),
        ),
      };
    if (samples.some((s) => s.name === "video_make_seconds_count"))
      status.videos = byLabel("videos", "status");
    if (samples.some((s) => s.name === "mcp_messages_total"))
      status.mcpMessages = sum(samples, "mcp_messages_total", () => true);
  }

  async function scrapeGroup(target: ScrapeTarget): Promise<GroupStatus> {
    const group: GroupStatus = { ...describe(target), replicas: [] };
    let replicas: Array<{ id: string; url: string }>;
    try {
      replicas = target.replicas ?? (await discover(target.dns!));
    } catch (err) {
      group.error = `cannot list replicas: ${reason(err)}`;
      return group;
    }
    group.replicas = await Promise.all(replicas.map((r) => scrapeReplica(target, r)));
    return group;
  }

  async function round(): Promise<Overview> {
    groups = await Promise.all(opts.targets.map(scrapeGroup));
    finishedAt = now();
    rounds++;
    return overview();
  }

  function overview(): Overview {
    const replicas = groups.flatMap((g) => g.replicas.map((r) => ({ g, r })));
    // The platform's rate is what its edge answered: the routers, or the gateways where a load
    // balancer routes (AWS's ALB, which has no /metrics of its own).
    const edge = groups.some((g) => g.kind === "router") ? "router" : "gateway";
    return {
      object: "monitoring.overview",
      at: finishedAt === undefined ? undefined : new Date(finishedAt).toISOString(),
      intervalMs: opts.intervalMs,
      rounds,
      groups,
      totals: {
        groups: groups.length,
        replicas: replicas.length,
        ready: replicas.filter(({ r }) => r.ready).length,
        requestRate: round2(
          groups
            .filter((g) => g.kind === edge)
            .flatMap((g) => g.replicas)
            .reduce((t, r) => t + (r.requestRate ?? 0), 0),
        ),
      },
      breakers: replicas.flatMap(({ g, r }) =>
        Object.entries(r.breakers ?? {}).map(([upstream, state]) => ({
          gateway: g.group,
          replica: r.id,
          upstream,
          state,
        })),
      ),
      dlq: replicas
        .filter(({ r }) => r.dlqDepth !== undefined)
        .map(({ g, r }) => ({ gateway: g.group, replica: r.id, depth: r.dlqDepth! })),
      automation: automation(replicas.map(({ r }) => r)),
      media: media(replicas.map(({ r }) => r)),
    };
  }

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  return {
    round,
    overview,
    /** Scrapes now, then every interval; a round never overlaps the previous one. */
    start(): void {
      const tick = () => {
        running = running.then(round).catch((err: unknown) => opts.onError?.(err));
      };
      tick();
      timer = setInterval(tick, opts.intervalMs);
    },
    async stop(): Promise<void> {
      clearInterval(timer);
      await running;
    },
  };
}

export type Scraper = ReturnType<typeof createScraper>;

function describe(t: ScrapeTarget): Omit<GroupStatus, "replicas"> {
  return {
    kind: t.kind,
    group: t.group,
    ...(t.domain ? { domain: t.domain } : {}),
    ...(t.version ? { version: t.version } : {}),
  };
}

/** Every address the host name of `base` resolves to, one replica each (Cloud Map, headless). */
async function discover(base: string): Promise<Array<{ id: string; url: string }>> {
  const url = new URL(base);
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  const found = await lookup(url.hostname.replace(/^\[|\]$/g, ""), { all: true });
  const unique = [...new Set(found.map((a) => (a.family === 6 ? `[${a.address}]` : a.address)))];
  return unique.sort().map((host) => ({
    id: `${host}:${port}`,
    url: `${url.protocol}//${host}:${port}`,
  }));
}

function checksOf(body: string): Record<string, boolean> {
  try {
    const parsed = JSON.parse(body) as { checks?: Record<string, unknown> };
    return Object.fromEntries(Object.entries(parsed.checks ?? {}).map(([k, v]) => [k, v === true]));
  } catch {
    return {};
  }
}

function reason(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string } };
  if (e.name === "TimeoutError") return "timed out";
  return e.cause?.code ?? e.message ?? String(err);
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** The automation layer's figures over every replica that reports some. */
function automation(replicas: readonly ReplicaStatus[]): Automation {
  const workflows: Automation["workflows"] = { runs: {}, schedules: 0, steps: {} };
  let mcpMessages = 0;
  for (const r of replicas) {
    mcpMessages += r.mcpMessages ?? 0;
    if (!r.workflows) continue;
    for (const [status, n] of Object.entries(r.workflows.runs))
      workflows.runs[status] = Math.max(workflows.runs[status] ?? 0, n);
    workflows.schedules = Math.max(workflows.schedules, r.workflows.schedules);
    for (const [outcome, n] of Object.entries(r.workflows.steps))
      workflows.steps[outcome] = (workflows.steps[outcome] ?? 0) + n;
  }
  return { workflows, mcpMessages };
}

/**
 * The render queue and the videos over every replica that reports them: every replica reads the
 * same tables, so the highest reading wins; finished jobs are each replica's own, so they add up.
 */
function media(replicas: readonly ReplicaStatus[]): Media {
  const out: Media = { scenesWaiting: 0, renders: [], jobs: {}, videos: {} };
  const progress: Record<string, number> = {};
  for (const r of replicas) {
    for (const [status, n] of Object.entries(r.videos ?? {}))
      out.videos[status] = Math.max(out.videos[status] ?? 0, n);
    if (!r.render) continue;
    out.scenesWaiting = Math.max(out.scenesWaiting, r.render.scenesWaiting);
    for (const [id, p] of Object.entries(r.render.progress))
      progress[id] = Math.max(progress[id] ?? 0, p);
    for (const [job, n] of Object.entries(r.render.jobs)) out.jobs[job] = (out.jobs[job] ?? 0) + n;
  }
  out.renders = Object.entries(progress)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([id, p]) => ({ id, progress: p }));
  return out;
}
