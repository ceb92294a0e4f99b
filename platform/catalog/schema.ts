import { z } from "zod";

// The shape of the catalog and every default, in one place. Defaults are applied by the schema
// so that every reader (stacks, local runner, router, tests) sees the same filled-in values.

// Names end up inside AWS identifiers (RDS, ElastiCache), which refuse a trailing hyphen or two
// in a row: https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html
const name = z
  .string()
  .regex(
    /^(?=.{1,31}$)[a-z](?:-?[a-z0-9])*$/,
    "must be lower-case letters, digits and single dashes, starting with a letter and ending with a letter or digit (max 31)",
  );

/** A public route: one path segment under /v1, e.g. `/v1/orders`; it owns `/v1/orders/*`. */
const routePrefix = z
  .string()
  .regex(/^\/v1\/[a-z][a-z0-9-]*$/, "must look like /v1/<segment> (lower-case, one segment)");

/** Memory sizes (MiB) from `min` to `max` in steps of `step`. */
function steps(min: number, max: number, step: number): number[] {
  return Array.from({ length: (max - min) / step + 1 }, (_, i) => min + i * step);
}

/**
 * Fargate's task sizes: for each cpu (units), the memory sizes (MiB) it takes. AWS refuses any
 * other pair ("No Fargate configuration exists for given values").
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size
 */
export const FARGATE_SIZES: Record<number, readonly number[]> = {
  256: [512, 1024, 2048],
  512: steps(1024, 4096, 1024),
  1024: steps(2048, 8192, 1024),
  2048: steps(4096, 16384, 1024),
  4096: steps(8192, 30720, 1024),
  8192: steps(16384, 61440, 4096),
  16384: steps(32768, 122880, 8192),
};

const size = z.object({
  /** ECS cpu units (256 = 1/4 vCPU). Default 256. */
  cpu: z
    .number()
    .refine(
      (c) => c in FARGATE_SIZES,
      `must be one of ${Object.keys(FARGATE_SIZES).join(", ")} (Fargate's cpu units)`,
    )
    .default(256),
  /** Memory in MiB, one of the sizes Fargate takes for the cpu (FARGATE_SIZES). Default 512. */
  memory: z.number().int().default(512),
});

/** Shapes that spread `size` in must also run this, since `.extend` keeps fields, not refinements. */
function checkSize(s: { cpu: number; memory: number }, ctx: z.RefinementCtx): void {
  const sizes = FARGATE_SIZES[s.cpu];
  if (!sizes || sizes.includes(s.memory)) return;
  const [min, second, max] = [sizes[0]!, sizes[1]!, sizes.at(-1)!];
  const allowed =
    sizes.length <= 4
      ? `one of ${sizes.join(", ")} MiB`
      : `${min} to ${max} MiB in steps of ${second - min}`;
  ctx.addIssue({
    code: "custom",
    path: ["memory"],
    message: `must be ${allowed} for cpu ${s.cpu} (got ${s.memory})`,
  });
}

/** Replicas: at least two, so that every tier and service survives the loss of one (and of an AZ). */
const replicas = z
  .number()
  .int("must be a whole number")
  .min(2, "must be at least 2 so that losing one replica or one zone is survivable")
  .max(50, "must be at most 50");

const version = z
  .object({
    name: z.string().regex(/^v[0-9]+$/, "must look like v1, v2, ..."),
    /** Share of traffic in percent; the weights of a service add up to 100. */
    weight: z.number().int().min(0).max(100),
    /**
     * The code this version runs: the repository's tree at a git ref (a commit, tag or branch),
     * e.g. the release it was cut from. Absent: the checkout the topology is started from.
     * `npm start` runs such a version from that tree; Docker, Kubernetes and AWS build its image
     * from it (on AWS pushed to the stack's repository beside the checkout's).
     */
    source: z
      .object({
        ref: z
          .string()
          .regex(/^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$/, "must be a git ref or commit"),
      })
      .strict()
      .optional(),
    /**
     * Settings of this version alone, as environment variables over the service's own (its
     * feature switches, `FAULT_ERROR_RATE` for a drill). Never a secret: they are plain config.
     */
    env: z
      .record(z.string(), z.string().max(4096))
      .default({})
      .superRefine((env, ctx) => {
        for (const key of Object.keys(env)) {
          if (!/^[A-Z][A-Z0-9_]*$/.test(key))
            ctx.addIssue({
              code: "custom",
              path: [key],
              message: "must be an environment variable name (A-Z, 0-9, _)",
            });
          else if (/(PASSWORD|SECRET|TOKEN|API_KEY)/.test(key))
            ctx.addIssue({
              code: "custom",
              path: [key],
              message:
                "must not be a secret (PASSWORD, SECRET, TOKEN, API_KEY): settings are plain config",
            });
        }
      }),
  })
  .strict();

/**
 * How the Upgrade Manager (`npm run upgrade`) moves a service's traffic to a new version, and
 * what makes it roll back. The new version is judged on what monitoring saw of it in each round.
 */
const upgradePolicy = z
  .object({
    /** Canary: the new version's share at each step, rising, ending at 100. */
    canarySteps: z
      .array(z.number().int().min(1).max(100))
      .min(1)
      .default([5, 25, 50, 100])
      .refine(
        (steps) => steps.every((p, i) => i === 0 || p > steps[i - 1]!) && steps.at(-1) === 100,
        "must rise step by step and end at 100",
      ),
    /** Time the traffic stays at each step while the new version is watched. */
    holdSeconds: z.number().int().min(1).max(3_600).default(30),
    /**
     * Answers the new version must give in a step before the next one: the step is held past
     * `holdSeconds` until it has them, and rolled back when it still lacks them after five
     * holds (a version no one called is not proven). 0 judges a step on time alone.
     */
    minRequests: z.number().int().min(0).max(1_000_000).default(20),
    /**
     * The error budget: the largest share of the new version's answers that may be 5xx in one
     * monitoring round (0.02 = 2%). Above it, the upgrade rolls back.
     */
    maxErrorRate: z.number().min(0).max(1).default(0.02),
    /** The new version's slowest acceptable p95 answer time in one round, in milliseconds. */
    maxP95Ms: z.number().int().min(1).max(600_000).default(1_000),
    /** Time the new version's replicas have to become ready before the upgrade gives up. */
    readySeconds: z.number().int().min(1).max(3_600).default(180),
  })
  .strict();
export type UpgradePolicy = z.output<typeof upgradePolicy>;

export const storeKinds = ["postgres", "redis", "kafka"] as const;
export type StoreKind = (typeof storeKinds)[number];

/** A GCRA limit: `limit` requests per `windowSeconds`, with bursts up to `limit` (exact at edges). */
const rate = z.object({
  limit: z.number().int().min(1, "must be at least 1").max(1_000_000),
  windowSeconds: z.number().int().min(1).max(86_400),
});

/** How a gateway tier treats one service's routes: limits, caching, time-outs. */
const trafficSchema = z
  .object({
    /** Per API key (default 600 a minute) and per client IP (default 1200 a minute). */
    rateLimit: z
      .object({
        perKey: rate.default({ limit: 600, windowSeconds: 60 }),
        perIp: rate.default({ limit: 1200, windowSeconds: 60 }),
      })
      .prefault({}),
    /**
     * Response cache for GETs: fresh for `ttlSeconds` (0 turns caching off, the default), then
     * served stale for `staleSeconds` while one request refreshes it, and when the service fails.
     * `perPrincipal` keys entries by caller (default), for answers that depend on who asks.
     */
    cache: z
      .object({
        ttlSeconds: z.number().int().min(0).max(86_400).default(0),
        staleSeconds: z.number().int().min(0).max(86_400).default(60),
        perPrincipal: z.boolean().default(true),
      })
      .prefault({}),
    /** Time to the first byte of the answer, and the longest silence inside a (streamed) body. */
    timeouts: z
      .object({
        firstByteMs: z.number().int().min(10).max(600_000).default(10_000),
        idleMs: z.number().int().min(10).max(600_000).default(30_000),
      })
      .prefault({}),
    /** Largest request body the gateway accepts, in bytes. Default 1 MiB. */
    maxBodyBytes: z
      .number()
      .int()
      .min(1)
      .max(64 * 1024 * 1024)
      .default(1024 * 1024),
    /**
     * Media types other than JSON that the gateway lets through to the service, which checks
     * them itself, e.g. `multipart/form-data` for file uploads. JSON is always accepted. Default
     * none.
     */
    bodyTypes: z.array(z.enum(["multipart/form-data"])).default([]),
    /**
     * Whether the gateway's quota step (services/gateway/quota.ts) consumes one request of the
     * caller's quota before the response cache and the service (chat's completions). Default
     * false; on, the catalog needs a `quota` service.
     */
    quota: z.boolean().default(false),
  })
  .prefault({});

/**
 * What the platform itself relies on a service for, beyond its own API. One service per role:
 * - `api-keys`: verifies API keys for every gateway tier and mints the first admin key (auth);
 *   the catalog needs one;
 * - `quota`: the backend of the gateways' quota step (routes with `traffic.quota`), served by its
 *   tier to the other domains' tiers and services (`tierCalls`);
 * - `monitoring`: scrapes every replica of every group, and holds the admin token;
 * - `api-bridge`: serves the public API as MCP tools (services/mcp), calling each operation on
 *   its caller's behalf through the tier of the domain that owns the route, as the router would;
 *   its own tier passes it the caller's API key, which no other service ever sees;
 * - `automation`: runs workflows and schedules (services/workflows), whose steps call operations
 *   as the bridge does, later and as the key's owner: its tier passes it the caller's API key too.
 */
export const serviceRoles = [
  "api-keys",
  "quota",
  "monitoring",
  "api-bridge",
  "automation",
] as const;
export type ServiceRole = (typeof serviceRoles)[number];

/**
 * The roles that call operations on a caller's behalf through the route's own tier, with the
 * caller's key: they reach every tier, and their tier passes them the `Authorization` header.
 */
export const callerRoles: ReadonlySet<ServiceRole | undefined> = new Set([
  "api-bridge",
  "automation",
]);

const serviceSchema = z
  .object({
    /** The domain (and so the gateway tier) that serves this service's routes. */
    domain: name,
    /** The platform's role this service plays (`serviceRoles`), if any. */
    role: z.enum(serviceRoles).optional(),
    /**
     * Public path prefixes this service owns, e.g. `/v1/orders`. Empty for an internal service,
     * which only other services of its domain reach (see `calls`).
     */
    routes: z.array(routePrefix).default([]),
    /**
     * Services of the same domain this one sends requests to (their v1 replicas), e.g. chat
     * calls `model` and `inference`. Each target passes their addresses in the caller's env.
     */
    calls: z.array(name).default([]),
    /**
     * Services of other domains this one calls, always through the callee's gateway tier (its
     * `/internal/<callee>/*` endpoints, which the router and the ALB never route), e.g. chat
     * reports usage to `quota`. Each target passes that tier's address as `UPSTREAM_<CALLEE>`
     * and lets exactly these callers reach the tier. Only `quota` is served this way.
     */
    tierCalls: z.array(name).default([]),
    replicas: replicas.default(2),
    /** Versions running side by side, with their traffic weights. Default: v1 at 100%. */
    versions: z
      .array(version)
      .min(1)
      .default([{ name: "v1", weight: 100, env: {} }]),
    /** How `npm run upgrade` moves this service to a new version (`upgradePolicy`). */
    upgrade: upgradePolicy.default(upgradePolicy.parse({})),
    /** Which of its domain's data stores the service talks to. */
    uses: z.array(z.enum(storeKinds)).default([]),
    /**
     * The service keeps blobs (file contents) of its own: an encrypted, private, versioned S3
     * bucket on AWS that only its tasks may use, the local disk elsewhere. Default false.
     */
    blobs: z.boolean().default(false),
    /**
     * The service runs FFmpeg and espeak-ng (the render workers): its containers run the image's
     * `media` variant (the Dockerfile's target `media`), which adds them. Default false.
     */
    media: z.boolean().default(false),
    /**
     * The service works through a queue whose depth it reports (`metric`, a gauge on /metrics
     * with the same value on every replica): its replicas are scaled out to keep about
     * `perReplica` waiting items each, up to the stack's ceiling, besides CPU. On AWS the depth
     * reaches CloudWatch in its log lines (Embedded Metric Format); on Kubernetes KEDA reads it
     * from /metrics when the stack names KEDA's namespace (`platform:kedaNamespace`), else CPU
     * alone. Absent: CPU only.
     */
    queueScaling: z
      .object({
        metric: z.string().regex(/^[a-z_][a-z0-9_]*$/, "must be a metric name (a-z, 0-9, _)"),
        perReplica: z.number().int().min(1).max(10_000),
      })
      .strict()
      .optional(),
    /**
     * The service calls hosts outside the platform and AWS (an upstream model API, a webhook).
     * On AWS only such a service's tasks may send to the internet; every other task reaches the
     * VPC, its endpoints and S3, nothing else. Default false.
     */
    internet: z.boolean().default(false),
    traffic: trafficSchema,
  })
  .extend(size.shape)
  .superRefine((s, ctx) => {
    checkSize(s, ctx);
    const total = s.versions.reduce((sum, v) => sum + v.weight, 0);
    if (total !== 100) {
      ctx.addIssue({
        code: "custom",
        path: ["versions"],
        message: `weights must add up to 100 (got ${total})`,
      });
    }
    const names = s.versions.map((v) => v.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) ctx.addIssue({ code: "custom", path: ["versions"], message: `lists ${dup} twice` });
  });

const dataSchema = z.object({
  postgres: z
    .object({
      /** RDS PostgreSQL major version. Default "16". */
      engineVersion: z.string().default("16"),
      /** Default db.t4g.micro (the cheapest Graviton class). */
      instanceClass: z.string().default("db.t4g.micro"),
      /** Allocated storage in GiB (20 to 65536). Default 20. */
      storageGb: z.number().int().min(20).max(65536).default(20),
      /** Days of automated backups (1 to 35). Default 7. */
      backupRetentionDays: z.number().int().min(1).max(35).default(7),
    })
    .prefault({}),
  redis: z
    .object({
      /** Default cache.t4g.micro. */
      nodeType: z.string().default("cache.t4g.micro"),
      /** Nodes in the replication group: a primary and replicas in other zones. Default 2. */
      nodes: z.number().int().min(2, "must be at least 2 for automatic failover").max(6).default(2),
    })
    .prefault({}),
  kafka: z
    .object({
      /** Default kafka.t3.small. */
      instanceType: z.string().default("kafka.t3.small"),
      /** Kafka version for MSK. Default "3.8.x". */
      version: z.string().default("3.8.x"),
      /** EBS storage per broker in GiB. Default 20. */
      storageGb: z.number().int().min(1).max(16384).default(20),
    })
    .prefault({}),
});

const domainSchema = z.object({
  gateway: z
    .object({
      replicas: replicas.default(2),
      /**
       * What the tier answers when a service cannot: `cached` serves the last good answer from
       * Redis (the identity tier, as the seeds ask), `degraded` answers a clear 503 and parks
       * writes in the dead-letter queue (the business tier).
       */
      fallback: z.enum(["cached", "degraded"]),
      resilience: z
        .object({
          /** Consecutive failures of a service that open its breaker (default 5). */
          breakerFailures: z.number().int().min(1).max(1000).default(5),
          /** How long an open breaker waits before one probe request (default 5000 ms). */
          breakerHalfOpenMs: z.number().int().min(100).max(600_000).default(5_000),
          /** Tries of one request, the first included (default 3). */
          maxAttempts: z.number().int().min(1).max(10).default(3),
          /** Backoff base and cap; each wait is uniform in [0, min(cap, base * 2^n)] (full jitter). */
          backoffBaseMs: z.number().int().min(1).max(10_000).default(25),
          backoffMaxMs: z.number().int().min(1).max(60_000).default(500),
          /** Retries may add at most this share of the live request rate (default 20%). */
          retryBudgetPercent: z.number().int().min(0).max(100).default(20),
        })
        .prefault({}),
    })
    .extend(size.shape)
    .superRefine(checkSize),
  data: dataSchema.prefault({}),
});

export const catalogSchema = z.object({
  /** Prefix of every cloud resource name. Default "platform". */
  name: name.default("platform"),
  /** How many availability zones every tier, service and data store spreads over (2 to 6). */
  zones: z.number().int().min(2, "must be at least 2").max(6).default(2),
  /** The port every process listens on inside a container or task. Default 8080. */
  containerPort: z.number().int().min(1024).max(65535).default(8080),
  /**
   * The routers' admin port, never published: /readyz with its details and /metrics, which name
   * internal addresses, are answered there only (the public port keeps /healthz and a bare
   * /readyz for probes). Monitoring scrapes it. Default 9090.
   */
  opsPort: z.number().int().min(1024).max(65535).default(9090),
  router: z
    .object({ replicas: replicas.default(2) })
    .extend(size.shape)
    .superRefine(checkSize)
    .prefault({}),
  /** Domain whose gateway tier receives every `/v1/*` path that no service claims. */
  defaultDomain: name,
  domains: z
    .record(name, domainSchema)
    .refine((d) => Object.keys(d).length > 0, "must list a domain"),
  services: z
    .record(name, serviceSchema)
    .refine((s) => Object.keys(s).length > 0, "must list a service"),
});

export type CatalogInput = z.input<typeof catalogSchema>;
export type Catalog = z.output<typeof catalogSchema>;
export type DomainSpec = Catalog["domains"][string];
export type ServiceSpec = Catalog["services"][string];
