import { services } from "../../platform/catalog/topology.ts";
import { loadRuntimeCatalog } from "../../platform/catalog/runtime.ts";
import { versionedName } from "../../platform/runtimeEnv.ts";
import { openCache } from "../shared/cache.ts";
import { envKey, fields, loadEnv } from "../shared/config.ts";
import { serve } from "../shared/http.ts";
import { openEventBus } from "../shared/events.ts";
import { createLogger } from "../shared/logger.ts";
import { createMetrics } from "../shared/metrics.ts";
import { createGateway } from "./app.ts";
import { dlqAdminHandler, openDeadLetterQueue, writeQueueOf } from "./dlq.ts";
import { startDlqReplay } from "./dlqReplayer.ts";
import { catalogLimits, rateLimit } from "./rateLimit.ts";
import { requestEvents } from "./requestEvents.ts";
import { ResponseCache, redisStore } from "./responseCache.ts";

const catalog = await loadRuntimeCatalog();
const base = loadEnv(
  {
    port: fields.port,
    domain: fields.domain,
    authUrls: fields.urls,
    quotaUrls: fields.urls.optional(),
    redisUrl: fields.redisUrl,
    kafkaBrokers: fields.kafkaBrokers,
    databaseUrl: fields.databaseUrl,
    dataDir: fields.dataDir,
    adminToken: fields.secret,
    principalSecret: fields.principalSecret,
    proxyHops: fields.proxyHops,
    tierReplicas: fields.replicas.optional(),
    bufferedBodyBytes: fields.bufferedBodyBytes,
  },
  {
    port: envKey.port,
    domain: envKey.domain,
    authUrls: envKey.authUrl,
    quotaUrls: envKey.quotaUrl,
    redisUrl: envKey.redisUrl,
    kafkaBrokers: envKey.kafkaBrokers,
    databaseUrl: envKey.databaseUrl,
    dataDir: envKey.dataDir,
    adminToken: envKey.adminToken,
    principalSecret: envKey.principalSecret,
    proxyHops: envKey.proxyHops,
    tierReplicas: envKey.tierReplicas,
    bufferedBodyBytes: envKey.bufferedBodyBytes,
  },
);
const domain = catalog.domains[base.domain];
if (!domain) {
  throw new Error(
    `${envKey.domain}: unknown domain "${base.domain}" (catalog: ${Object.keys(catalog.domains).join(", ")})`,
  );
}
const own = services(catalog)
  .filter((s) => s.domain === base.domain)
  .flatMap((s) =>
    s.versions.map((v) => ({
      key: versionedName(s.name, v.name),
      env: envKey.upstream(s.name, v.name),
    })),
  );
const upstreams = loadEnv(
  Object.fromEntries(own.map((u) => [u.key, fields.urls])),
  Object.fromEntries(own.map((u) => [u.key, u.env])),
) as Record<string, string[]>;

const program = `${base.domain}-gateway`;
const logger = createLogger(program);
const metrics = createMetrics(program);
// Only a degraded domain parks writes: an identity write (a new API key, say) must answer now.
const dlq =
  domain.gateway.fallback === "degraded"
    ? await openDeadLetterQueue({
        domain: base.domain,
        registry: metrics.registry,
        logger,
        kafkaBrokers: base.kafkaBrokers,
        redisUrl: base.redisUrl,
        databaseUrl: base.databaseUrl,
        dataDir: base.dataDir,
      })
    : undefined;

// Rate limits and cached answers are shared by the tier's replicas through Redis when it is
// configured; without it each replica keeps its own (and says so in its metrics).
// ioredis is imported only then.
const redis = base.redisUrl
  ? (await import("../shared/redisCache.ts")).redisClient(base.redisUrl)
  : undefined;

// A tier describes its requests on `<domain>.requests` when its domain runs analytics to read them.
const requestBus = services(catalog).some((s) => s.domain === base.domain && s.name === "analytics")
  ? openEventBus(base.kafkaBrokers, `${program}-requests`, base.dataDir)
  : undefined;
const requestLog =
  requestBus &&
  requestEvents({
    bus: requestBus,
    topic: `${base.domain}.requests`,
    registry: metrics.registry,
    logger,
  });

let draining = false;
const gateway = createGateway({
  catalog,
  domain: base.domain,
  upstreams,
  authUrls: base.authUrls,
  quotaUrls: base.quotaUrls,
  store: await openCache(base.redisUrl, program),
  adminToken: base.adminToken,
  principalSecret: base.principalSecret,
  proxyHops: base.proxyHops,
  bufferedBodyBytes: base.bufferedBodyBytes,
  logger,
  metrics,
  draining: () => draining,
  rateLimit: rateLimit({
    redis,
    prefix: program,
    limitsFor: catalogLimits(catalog, base.domain),
    registry: metrics.registry,
    logger,
    replicas: base.tierReplicas ?? domain.gateway.replicas,
  }),
  // Without a store the replicas share, a write through one replica could not invalidate the
  // others' copies, so reads would not see the caller's own writes: no response cache then.
  readCache: redis
    ? new ResponseCache({ store: redisStore(redis, program), registry: metrics.registry, logger })
    : undefined,
  writeQueue: dlq && writeQueueOf(dlq, logger, base.principalSecret),
  dlqAdmin: dlq && dlqAdminHandler(dlq),
  requestEvents: requestLog?.record,
});
const stopReplay =
  dlq && startDlqReplay({ dlq, sets: gateway.replicaSets, logger, secret: base.principalSecret });
await serve(gateway.handler, base.port, logger, {
  startDraining: () => (draining = true),
  onClose: async () => {
    await stopReplay?.();
    await gateway.close();
    await dlq?.close();
    await requestLog?.close();
    await requestBus?.close();
    redis?.disconnect();
  },
});
