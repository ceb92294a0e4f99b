import { catalog, services } from "../../infra/catalog/index.ts";
import { openCache } from "../shared/cache.ts";
import { envKey, fields, loadEnv } from "../shared/config.ts";
import { serve } from "../shared/http.ts";
import { createLogger } from "../shared/logger.ts";
import { createMetrics } from "../shared/metrics.ts";
import { createGateway } from "./app.ts";

const base = loadEnv(
  { port: fields.port, domain: fields.domain, authUrls: fields.urls, redisUrl: fields.redisUrl },
  { port: envKey.port, domain: envKey.domain, authUrls: envKey.authUrl, redisUrl: envKey.redisUrl },
);
if (!catalog.domains[base.domain]) {
  throw new Error(
    `${envKey.domain}: unknown domain "${base.domain}" (catalog: ${Object.keys(catalog.domains).join(", ")})`,
  );
}
const own = services(catalog).filter((s) => s.domain === base.domain);
const upstreams = loadEnv(
  Object.fromEntries(own.map((s) => [s.name, fields.urls])),
  Object.fromEntries(own.map((s) => [s.name, envKey.upstream(s.name)])),
) as Record<string, string[]>;

const program = `${base.domain}-gateway`;
const logger = createLogger(program);
let draining = false;
const gateway = createGateway({
  catalog,
  domain: base.domain,
  upstreams,
  authUrls: base.authUrls,
  cache: openCache(base.redisUrl, program),
  logger,
  metrics: createMetrics(program),
  draining: () => draining,
});
await serve(gateway.app, base.port, logger, {
  startDraining: () => (draining = true),
  onClose: gateway.close,
});
