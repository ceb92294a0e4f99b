import { z } from "zod";
import {
  CATALOG_ENV,
  gatewayCatalogJson,
  routerCatalogJson,
  serviceCatalogJson,
} from "./catalog/runtime.ts";
import { callerRoles, type Catalog } from "./catalog/schema.ts";
import { domains, keyService, serviceWithRole, services } from "./catalog/topology.ts";
import type { Workload } from "./catalog/reachability.ts";
import { nameOf } from "./names.ts";

// The environment contract between the deploy targets and the processes. Every target (local
// runner, Docker, Kubernetes, AWS) builds a process's environment with these functions, and the
// processes read it back with services/shared/config.ts, so the names live in one place.

/** What a target knows about where things are; each value is one or more base URLs. */
export interface Addresses {
  /** Base URLs of each gateway tier's replicas (or one load-balanced name), by domain. */
  tiers: Record<string, string[]>;
  /**
   * Base URLs of each service's replicas (or one DNS name that resolves to all), keyed by
   * `versionedName(service, version)`: the service's name for v1, `orders@v2` for others.
   */
  services: Record<string, string[]>;
  /**
   * Every replica of every tier and service, one target per group, for the monitoring service.
   * A target's own view, not the balanced one: a static list where each replica has an address
   * of its own (local runner, Docker), a DNS name with one record per replica where the platform
   * registers them (Kubernetes headless Services, AWS Cloud Map).
   */
  replicas?: ScrapeTarget[];
}

/** One group of replicas that the monitoring service scrapes (MONITOR_TARGETS, as JSON). */
export const scrapeTarget = z
  .object({
    kind: z.enum(["router", "gateway", "service"]),
    /** `router`, `<domain>-gateway`, or a service version's `versionedName` (`orders@v2`). */
    group: z.string().min(1),
    domain: z.string().optional(),
    version: z.string().optional(),
    /** Each replica's name and base URL. */
    replicas: z.array(z.object({ id: z.string().min(1), url: z.url() })).optional(),
    /** A base URL whose host name resolves to one address per replica, looked up each round. */
    dns: z.url().optional(),
  })
  .refine((t) => (t.replicas === undefined) !== (t.dns === undefined), "needs replicas or dns");
export type ScrapeTarget = z.infer<typeof scrapeTarget>;

/** Where one group's replicas are: each one's address, or a DNS name with a record per replica. */
export type ReplicaLocator = Pick<ScrapeTarget, "replicas" | "dns">;

/**
 * Every replica group of the catalog as monitoring targets: the routers (where the target runs
 * them: on AWS the ALB is the routing tier), each gateway tier, each service version that the
 * target runs. `locate` gives a group's replicas as the target addresses them.
 */
export function scrapeTargets(
  catalog: Catalog,
  locate: {
    router?: () => ReplicaLocator;
    tier: (domain: string) => ReplicaLocator;
    /** Undefined for a version that the target does not run. */
    service: (service: string, version: string) => ReplicaLocator | undefined;
  },
): ScrapeTarget[] {
  const targets: ScrapeTarget[] = [];
  if (locate.router) targets.push({ kind: "router", group: "router", ...locate.router() });
  for (const d of domains(catalog)) {
    targets.push({
      kind: "gateway",
      group: `${d.name}-gateway`,
      domain: d.name,
      ...locate.tier(d.name),
    });
  }
  for (const s of services(catalog)) {
    for (const v of s.versions) {
      const at = locate.service(s.name, v.name);
      if (!at) continue;
      targets.push({
        kind: "service",
        group: versionedName(s.name, v.name),
        domain: s.domain,
        version: v.name,
        ...at,
      });
    }
  }
  return targets;
}

/**
 * Every address of a target whose groups each answer at one URL (a DNS name with a record per
 * replica, or a balanced one): `urlOf` gives that URL for a workload, its name and a port. The
 * routers are scraped on their ops port where the target runs them (on AWS the ALB routes).
 */
export function addressesOf(
  catalog: Catalog,
  urlOf: (w: Workload, name: string, port: number) => string,
  options: { routers: boolean },
): Addresses {
  const port = catalog.containerPort;
  const at = (w: Workload, p = port) => urlOf(w, nameOf(w), p);
  return {
    replicas: scrapeTargets(catalog, {
      router: options.routers
        ? () => ({ dns: at({ kind: "router" }, catalog.opsPort) })
        : undefined,
      tier: (domain) => ({ dns: at({ kind: "tier", domain }) }),
      service: (service, version) => ({ dns: at({ kind: "service", service, version }) }),
    }),
    tiers: Object.fromEntries(
      domains(catalog).map((d) => [d.name, [at({ kind: "tier", domain: d.name })]]),
    ),
    services: Object.fromEntries(
      services(catalog).flatMap((s) =>
        s.versions.map((v) => [
          versionedName(s.name, v.name),
          [at({ kind: "service", service: s.name, version: v.name })],
        ]),
      ),
    ),
  };
}

/** Connection strings of one domain's data stores; absent ones fall back to embedded defaults. */
export interface DataEndpoints {
  databaseUrl?: string;
  redisUrl?: string;
  kafkaBrokers?: string;
}

/** The endpoints, and how a client signs in where that is not implied by the URL. */
export interface DataAccess extends DataEndpoints {
  /** How clients sign in to Kafka: `aws-iam` for MSK (TLS + SASL/OAUTHBEARER), else none. */
  kafkaAuth?: KafkaAuth;
  /** A PEM file in the image with the CAs that sign the database's certificate (RDS's). */
  databaseCaFile?: string;
  /** How clients sign in to PostgreSQL: `aws-iam` for RDS (a token per connection), else the URL's. */
  databaseAuth?: DatabaseAuth;
  /** Connections per process, so that all the domain's processes fit the server's limit. */
  databasePoolMax?: number;
}

export type KafkaAuth = z.infer<typeof envFormat.kafkaAuth>;
export type DatabaseAuth = z.infer<typeof envFormat.databaseAuth>;

/** Where a service with catalog `blobs` keeps them on AWS: its bucket, KMS key and region. */
export interface BlobEndpoint {
  bucket: string;
  kmsKeyId: string;
  region: string;
}

export type Env = Record<string, string>;

/**
 * DATA_DIR inside the image (the Dockerfile sets it and makes it the one directory the non-root
 * user owns): where a container keeps whatever it stores on disk.
 */
export const IMAGE_DATA_DIR = "/var/lib/platform";

/**
 * The formats of the values a process reads, shared by the processes (which validate their
 * environment at start) and the stacks (which validate the same values in stack config).
 */
export const envFormat = {
  databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL"),
  redisUrl: z.string().regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL"),
  kafkaBrokers: z
    .string()
    .regex(/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/, "must be host:port[,host:port...]"),
  kafkaAuth: z.enum(["none", "tls", "aws-iam"], {
    error: 'must be "none", "tls" or "aws-iam"',
  }),
  databaseAuth: z.enum(["password", "aws-iam"], { error: 'must be "password" or "aws-iam"' }),
  apiKey: z
    .string()
    .regex(
      /^sk-[A-Za-z0-9_-]{20,200}$/,
      "must look like sk- followed by 20 to 200 URL-safe characters",
    ),
};

export const envKey = {
  /** The catalog's runtime view, as JSON (platform/catalog/runtime.ts): every program reads it. */
  catalog: CATALOG_ENV,
  port: "PORT",
  host: "HOST",
  reusePort: "REUSE_PORT",
  /** How long a stopping process keeps accepting while its readiness says 503 (default 2000). */
  drainDelayMs: "DRAIN_DELAY_MS",
  domain: "DOMAIN",
  service: "SERVICE_NAME",
  version: "SERVICE_VERSION",
  databaseUrl: "DATABASE_URL",
  redisUrl: "REDIS_URL",
  /** PostgreSQL password, a secret that `pg` reads by itself when DATABASE_URL carries none. */
  databasePassword: "PGPASSWORD",
  /**
   * `aws-iam` on AWS, instead of PGPASSWORD: each new connection signs in as DATABASE_URL's user
   * (the service's own role) with an IAM token of the task role; unset or `password`: the URL's
   * password or PGPASSWORD.
   */
  databaseAuth: "DATABASE_AUTH",
  /** Connections each process may hold in its PostgreSQL pool (default 10). */
  databasePoolMax: "DATABASE_POOL_MAX",
  /** Redis AUTH token, a secret: on AWS the task definition injects it from Secrets Manager. */
  redisPassword: "REDIS_PASSWORD",
  kafkaBrokers: "KAFKA_BROKERS",
  /**
   * `aws-iam` on AWS (MSK signs clients in with the task role); `tls` for a managed Kafka that
   * takes TLS clients without SASL (Kubernetes with external stores); unset: plaintext.
   */
  kafkaAuth: "KAFKA_AUTH",
  /** Node adds these CAs to its trust store: on AWS, RDS's, so that `pg` can verify the server. */
  extraCaCerts: "NODE_EXTRA_CA_CERTS",
  authUrl: "AUTH_URL",
  /**
   * Replicas of this gateway tier running now, when not the catalog's count (`npm start
   * --replicas`): while Redis is down, or with none, each allows `limit / replicas`.
   */
  tierReplicas: "TIER_REPLICAS",
  /** Where the gateway checks quotas: the quota service's replicas, or the tier that hosts it. */
  quotaUrl: "QUOTA_URL",
  demoApiKey: "DEMO_API_KEY",
  dataDir: "DATA_DIR",
  tier: (domain: string) => `TIER_${domain.toUpperCase().replace(/-/g, "_")}`,
  /** v1 keeps the plain name; other versions add theirs: UPSTREAM_ORDERS, UPSTREAM_ORDERS_V2. */
  upstream: (service: string, version = "v1") =>
    `UPSTREAM_${service.toUpperCase().replace(/-/g, "_")}${version === "v1" ? "" : `_${version.toUpperCase()}`}`,
  adminToken: "ADMIN_TOKEN",
  /**
   * The stack's key for what the gateways sign: the principal headers they send to services,
   * the auth verdicts they keep in Redis, the writes they park in the dead-letter queue. Every
   * gateway and service replica has it, as a secret of the target's store.
   */
  principalSecret: "PRINCIPAL_SECRET",
  /** JSON list of `ScrapeTarget`s: every replica the monitoring service watches. */
  monitorTargets: "MONITOR_TARGETS",
  /** How often monitoring scrapes every replica (default 5000 ms). */
  monitorIntervalMs: "MONITOR_INTERVAL_MS",
  /**
   * A second port answering only /healthz, /readyz and /metrics: each local router replica (they
   * share their main port with SO_REUSEPORT) can be scraped by itself there, and a router keeps
   * its details and metrics off its public port (catalog `opsPort`).
   */
  opsPort: "OPS_PORT",
  /** Request body bytes a gateway replica may hold at once (default 256 MiB; for tests). */
  bufferedBodyBytes: "GATEWAY_BUFFERED_BODY_BYTES",
  /**
   * How long a client may take to send its request headers (default 10 000 ms) and its whole
   * request (default 60 000 ms) to any of our HTTP servers: slowloris bounds.
   */
  headersTimeoutMs: "HEADERS_TIMEOUT_MS",
  requestTimeoutMs: "REQUEST_TIMEOUT_MS",
  /** How many proxies in front of a gateway add to X-Forwarded-For (see `PROXY_HOPS`). */
  proxyHops: "TRUSTED_PROXY_HOPS",
  /** A service with catalog `blobs`: its S3 bucket (unset: the local disk), and its KMS key. */
  blobBucket: "BLOB_BUCKET",
  blobKmsKeyId: "BLOB_KMS_KEY_ID",
  /** The AWS region, as the AWS SDK reads it. */
  awsRegion: "AWS_REGION",
  /** AWS: the CloudWatch namespace a service with catalog `queueScaling` reports its depth in. */
  queueMetricNamespace: "QUEUE_METRIC_NAMESPACE",
} as const;

/**
 * Secrets reach containers as environment variables filled from the target's secret store (ECS
 * from Secrets Manager, Docker and Kubernetes from their own), never as plain values. `pg` reads
 * PGPASSWORD by itself when DATABASE_URL carries no password; REDIS_PASSWORD is the Redis AUTH
 * token for REDIS_URL. On AWS no database password exists for a task: each service signs in as
 * its own role with IAM tokens (DATABASE_AUTH=aws-iam, components/aws/databaseRoles.ts).
 */
export const secretEnvKey = {
  databasePassword: envKey.databasePassword,
  redisPassword: envKey.redisPassword,
} as const;

function dataEnv(data: DataAccess | undefined): Env {
  const env: Env = {};
  if (data?.databaseUrl) env[envKey.databaseUrl] = data.databaseUrl;
  if (data?.redisUrl) env[envKey.redisUrl] = data.redisUrl;
  if (data?.kafkaBrokers) env[envKey.kafkaBrokers] = data.kafkaBrokers;
  if (data?.kafkaBrokers && data.kafkaAuth) env[envKey.kafkaAuth] = data.kafkaAuth;
  if (data?.databaseUrl && data.databaseCaFile) env[envKey.extraCaCerts] = data.databaseCaFile;
  if (data?.databaseUrl && data.databaseAuth) env[envKey.databaseAuth] = data.databaseAuth;
  if (data?.databaseUrl && data.databasePoolMax !== undefined)
    env[envKey.databasePoolMax] = String(data.databasePoolMax);
  return env;
}

export function routerEnv(
  catalog: Catalog,
  at: Addresses,
  port: number,
  opsPort = catalog.opsPort,
): Env {
  const env: Env = {
    [envKey.catalog]: routerCatalogJson(catalog),
    [envKey.port]: String(port),
    [envKey.opsPort]: String(opsPort),
  };
  for (const d of domains(catalog)) env[envKey.tier(d.name)] = need(at.tiers, d.name).join(",");
  return env;
}

/**
 * Which client address each target's gateways trust: the proxies between a client and a gateway,
 * each of which appends the address it saw to X-Forwarded-For. A gateway takes the entry that
 * many places from the end; whatever a client wrote there itself comes before and is ignored.
 * Locally and on Docker the router is the one hop; on AWS the ALB is (it is the routing tier); on
 * Kubernetes the ingress controller sets the client's address and the router appends the
 * controller's, so the client is two hops back. One hop too few puts every client of the target
 * in one per-address rate-limit bucket; one too many lets a client choose its own address.
 */
export const PROXY_HOPS = { local: 1, docker: 1, aws: 1, kubernetes: 2 } as const;
export type Target = keyof typeof PROXY_HOPS;

/**
 * A gateway tier's environment: its own services' replicas, and where keys are verified. The
 * tier that hosts the auth service verifies against it directly; the others ask that tier.
 */
export function gatewayEnv(
  catalog: Catalog,
  domain: string,
  at: Addresses,
  port: number,
  target: Target,
  data?: DataAccess,
): Env {
  const env: Env = {
    [envKey.catalog]: gatewayCatalogJson(catalog, domain),
    [envKey.port]: String(port),
    [envKey.domain]: domain,
    [envKey.proxyHops]: String(PROXY_HOPS[target]),
    ...dataEnv(data),
  };
  for (const s of services(catalog).filter((s) => s.domain === domain)) {
    for (const v of s.versions) {
      env[envKey.upstream(s.name, v.name)] = need(at.services, versionedName(s.name, v.name)).join(
        ",",
      );
    }
  }
  // The tier of the service that verifies keys calls it; the others call that tier.
  const keys = keyService(catalog);
  env[envKey.authUrl] =
    keys.domain === domain
      ? need(at.services, keys.name).join(",")
      : need(at.tiers, keys.domain).join(",");
  // Likewise for quotas, once the catalog has a quota service (services/gateway/quota.ts).
  const quota = serviceWithRole(catalog, "quota");
  if (quota) {
    env[envKey.quotaUrl] =
      quota.domain === domain
        ? need(at.services, quota.name).join(",")
        : need(at.tiers, quota.domain).join(",");
  }
  return env;
}

/**
 * A service's environment: its identity, the data stores it uses, and the v1 replicas of each
 * service it calls (`UPSTREAM_<CALLEE>`, the names a gateway reads too). `at` is needed only
 * for a service whose catalog entry lists `calls`; `blobs` only where a service with catalog
 * `blobs` keeps them in S3 (unset, it keeps them on its local disk).
 */
export function serviceEnv(
  catalog: Catalog,
  service: string,
  port: number,
  data?: DataAccess,
  version = "v1",
  at?: Addresses,
  blobs?: BlobEndpoint,
): Env {
  const spec = catalog.services[service];
  if (!spec) throw new Error(`unknown service "${service}"`);
  const used: DataAccess = {
    databaseUrl: spec.uses.includes("postgres") ? data?.databaseUrl : undefined,
    redisUrl: spec.uses.includes("redis") ? data?.redisUrl : undefined,
    kafkaBrokers: spec.uses.includes("kafka") ? data?.kafkaBrokers : undefined,
    kafkaAuth: data?.kafkaAuth,
    databaseCaFile: data?.databaseCaFile,
    databaseAuth: data?.databaseAuth,
    databasePoolMax: data?.databasePoolMax,
  };
  const env: Env = {
    [envKey.catalog]: serviceCatalogJson(catalog, service),
    [envKey.port]: String(port),
    [envKey.domain]: spec.domain,
    [envKey.service]: service,
    [envKey.version]: version,
    ...dataEnv(used),
  };
  for (const callee of spec.calls) {
    if (!at) throw new Error(`serviceEnv: ${service} calls ${callee}; pass the addresses`);
    env[envKey.upstream(callee)] = need(at.services, versionedName(callee, "v1")).join(",");
  }
  if (spec.role === "monitoring") {
    if (!at?.replicas)
      throw new Error("serviceEnv: monitoring needs the addresses of every replica");
    env[envKey.monitorTargets] = JSON.stringify(at.replicas);
  }
  // A bridge routes each call as the router does: it holds every tier's address.
  if (callerRoles.has(spec.role)) {
    if (!at) throw new Error(`serviceEnv: ${service} calls every tier; pass the addresses`);
    for (const d of domains(catalog)) env[envKey.tier(d.name)] = need(at.tiers, d.name).join(",");
  }
  if (spec.blobs && blobs) {
    env[envKey.blobBucket] = blobs.bucket;
    env[envKey.blobKmsKeyId] = blobs.kmsKeyId;
    env[envKey.awsRegion] = blobs.region;
  }
  // A service of another domain is reached through that domain's tier (catalog `tierCalls`).
  for (const callee of spec.tierCalls) {
    if (!at) throw new Error(`serviceEnv: ${service} calls ${callee}; pass the addresses`);
    env[envKey.upstream(callee)] = need(at.tiers, catalog.services[callee]!.domain).join(",");
  }
  // The version's own settings come last, but may not redirect what the platform wires.
  const own = spec.versions.find((v) => v.name === version)?.env ?? {};
  for (const [key, value] of Object.entries(own)) {
    if (key in env || platformKeys.has(key) || /^(UPSTREAM|TIER)_/.test(key))
      throw new Error(
        `catalog: ${service} ${version} env sets ${key}, which the platform sets itself`,
      );
    env[key] = value;
  }
  return env;
}

/** The env contract's fixed variable names; those per callee (`UPSTREAM_*`, `TIER_*`) by prefix. */
const platformKeys: ReadonlySet<string> = new Set(
  Object.values(envKey as Record<string, unknown>).filter(
    (k): k is string => typeof k === "string",
  ),
);

/** The key of a service version in `Addresses.services`. */
export function versionedName(service: string, version: string): string {
  return version === "v1" ? service : `${service}@${version}`;
}

function need(map: Record<string, string[]>, key: string): string[] {
  const urls = map[key];
  if (!urls || urls.length === 0) throw new Error(`no address known for "${key}"`);
  return urls;
}

/**
 * The image variant (the Dockerfile's target) a program's containers run: `media`, which adds
 * FFmpeg and espeak-ng, for a catalog service with `media: true`; else `services`, the default.
 */
export type ImageVariant = "services" | "media";
export const imageVariant = (service?: { media: boolean }): ImageVariant =>
  service?.media ? "media" : "services";

/** The program a process runs: `router`, `gateway`, or a service name (one image holds them all). */
export function entrypoint(program: string): string {
  return `services/${program}/main.ts`;
}
