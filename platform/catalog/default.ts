import type { CatalogInput } from "./schema.ts";

/**
 * The default topology (DESIGN.md): a routing tier in front of two gateway tiers, "identity"
 * (critical: auth, users) and "business" (orders and the rest), each domain with its own
 * PostgreSQL, Redis and Kafka. Adding a service is one entry under `services`.
 */
export const defaultCatalog: CatalogInput = {
  name: "platform",
  zones: 2,
  defaultDomain: "business",
  router: { replicas: 2 },
  domains: {
    identity: { gateway: { replicas: 2, fallback: "cached" } },
    business: {
      gateway: { replicas: 2, fallback: "degraded" },
      // Eight services of this domain use PostgreSQL: at full scale-out their pools need more
      // connections than a db.t4g.micro takes (infra/aws/workloads.ts databasePool).
      data: { postgres: { instanceClass: "db.t4g.small" } },
    },
  },
  services: {
    // auth asks user for a key owner's plan (docs/identity.md).
    auth: {
      domain: "identity",
      role: "api-keys",
      routes: ["/v1/auth"],
      replicas: 2,
      uses: ["postgres"],
      calls: ["user"],
    },
    // Users and plans (each plan's limits and allowed models).
    user: { domain: "identity", routes: ["/v1/users"], replicas: 2, uses: ["postgres"] },
    // Per-user request and token quotas per day: counted atomically in Redis, persisted in
    // PostgreSQL, usage events on Kafka (identity.usage); limits from the user service's plans.
    quota: {
      domain: "identity",
      role: "quota",
      routes: ["/v1/quota"],
      replicas: 2,
      uses: ["postgres", "redis", "kafka"],
      calls: ["user"],
    },
    // Usage summed per user, model, day and month, priced; consumed from identity.usage
    // (docs/billing-analytics.md).
    billing: {
      domain: "identity",
      routes: ["/v1/billing"],
      replicas: 2,
      uses: ["postgres", "kafka"],
    },
    orders: {
      domain: "business",
      routes: ["/v1/orders"],
      replicas: 2,
      uses: ["postgres", "kafka"],
      // Reads are cached per caller for 2 s (then served stale up to 60 s while refreshed); a
      // caller's own write invalidates them at once.
      traffic: { cache: { ttlSeconds: 2 } },
    },
    // The chat flow (docs/chat.md): chat answers the OpenAI-compatible API and calls the model
    // registry and the inference service, which have no public route.
    chat: {
      domain: "business",
      routes: ["/v1/chat", "/v1/models"],
      replicas: 2,
      uses: ["postgres", "redis", "kafka"],
      calls: ["model", "inference"],
      // Each completion's usage goes to quota through the identity tier (docs/quota-flow.md).
      tierCalls: ["quota"],
      traffic: {
        // Each completion consumes one request of the caller's quota at the gateway first.
        quota: true,
        // A whole (unstreamed) answer comes only once generated; the router waits 30 s for the
        // headers, so the gateway gives up first. A stream may pause between tokens up to idleMs.
        timeouts: { firstByteMs: 25_000, idleMs: 30_000 },
        // A completion costs far more than a read: 60 a minute per key, bursts included.
        rateLimit: {
          perKey: { limit: 60, windowSeconds: 60 },
          perIp: { limit: 600, windowSeconds: 60 },
        },
      },
    },
    articles: {
      domain: "business",
      routes: ["/v1/articles"],
      replicas: 2,
      uses: ["postgres", "kafka"],
    },
    // Scrapes every replica of every tier and service (docs/monitoring.md); it keeps no data.
    monitoring: {
      domain: "business",
      role: "monitoring",
      routes: ["/v1/monitoring"],
      replicas: 2,
    },
    // The public API as MCP tools, at /v1/mcp (docs/mcp.md): each tool call goes through the
    // tier that owns its route with the caller's key, so the same limits and quotas apply.
    mcp: {
      domain: "business",
      role: "api-bridge",
      routes: ["/v1/mcp"],
      replicas: 2,
      traffic: {
        // A tool may stream a chat completion as progress notifications: as long as chat's.
        timeouts: { firstByteMs: 25_000, idleMs: 30_000 },
      },
    },
    // Workflows and schedules (docs/workflows.md): definitions, runs and their pg-boss jobs in
    // PostgreSQL; each step calls an operation through its route's tier with the owner's key.
    workflows: {
      domain: "business",
      role: "automation",
      routes: ["/v1/workflows", "/v1/workflow-runs", "/v1/schedules"],
      replicas: 2,
      uses: ["postgres"],
    },
    // Requests (from the business tier), chat usage and orders consumed from Kafka and queried
    // over a time window by admins (docs/billing-analytics.md).
    analytics: {
      domain: "business",
      routes: ["/v1/analytics"],
      replicas: 2,
      uses: ["postgres", "kafka"],
    },
    model: { domain: "business", routes: [], replicas: 2, uses: ["postgres"] },
    // Trained models' files come from storage (docs/storage-training.md).
    // Each replica runs the language model in llama.cpp (docs/chat.md): about 600 MB resident
    // with the service around it (bench/README.md), and one core it keeps busy while generating.
    inference: {
      domain: "business",
      routes: [],
      replicas: 2,
      calls: ["storage"],
      cpu: 512,
      memory: 1024,
    },
    // Files (corpora, trained models): metadata in PostgreSQL, contents in an S3 bucket of its
    // own on AWS (`blobs`), the local disk elsewhere. Uploads are multipart, up to 8 MiB.
    storage: {
      domain: "business",
      routes: ["/v1/files"],
      replicas: 2,
      uses: ["postgres"],
      blobs: true,
      traffic: { maxBodyBytes: 8 * 1024 * 1024 + 64 * 1024, bodyTypes: ["multipart/form-data"] },
    },
    // Videos from a prompt (docs/video.md): the AI orchestrator asks chat for a storyboard,
    // hands its scenes to render, and keeps the joined MP4 in a bucket of its own; its content
    // requests go to analytics (business.video-plays), whose statistics steer the next videos.
    video: {
      domain: "business",
      routes: ["/v1/videos"],
      replicas: 2,
      uses: ["postgres", "kafka"],
      blobs: true,
      // What a video costs is bounded per user (3 in the making: VIDEO_MAX_ACTIVE), so its
      // routes keep the default rate limits, which leave room to follow progress.
      calls: ["chat", "render", "storage", "analytics"],
    },
    // Render workers (the render engine): each replica takes one scene at a time from the
    // queue in PostgreSQL and encodes it with FFmpeg (one core busy), then joins a finished
    // video's clips; scenes, clips and every attempt are its own (the assets database).
    render: {
      domain: "business",
      routes: [],
      replicas: 2,
      uses: ["postgres"],
      blobs: true,
      media: true,
      // Scaled out on the scenes waiting (two per worker), besides CPU.
      queueScaling: { metric: "render_scenes_waiting", perReplica: 2 },
      cpu: 1024,
      memory: 2048,
    },
    // Training jobs: queued in PostgreSQL, run by one replica each; the result goes to storage
    // and into the model registry.
    training: {
      domain: "business",
      routes: ["/v1/training"],
      replicas: 2,
      uses: ["postgres"],
      calls: ["storage", "model"],
    },
  },
};
