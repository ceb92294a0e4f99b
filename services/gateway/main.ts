import { catalog, services } from "../../infra/catalog/index.ts";
import { openCache } from "../shared/cache.ts";
import { envKey, fields, loadEnv } from "../shared/config.ts";
import { serve } from "../shared/http.ts";
import { createLogger } from "../shared/logger.ts";
import { createMetrics } from "../shared/metrics.ts";
import { versionedName } from "../../infra/runtimeEnv.ts";
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
const { adminToken } = loadEnv({ adminToken: fields.secret }, { adminToken: envKey.adminToken });

const program = `${base.domain}-gateway`;
const logger = createLogger(program);
let draining = false;
const gateway = createGateway({
  catalog,
  domain: base.domain,
  upstreams,
  authUrls: base.authUrls,
  store: openCache(base.redisUrl, program),
  adminToken,
  logger,
  metrics: createMetrics(program),
  draining: () => draining,
});
await serve(gateway.app, base.port, logger, {
  startDraining: () => (draining = true),
  onClose: gateway.close,
});
