import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { services } from "../../platform/catalog/index.ts";
import type { Catalog } from "../../platform/catalog/schema.ts";
import { versionedName } from "../../platform/runtimeEnv.ts";
import { createGateway, type GatewayOptions } from "../../services/gateway/app.ts";
import { memoryCache } from "../../services/shared/cache.ts";
import { createLogger } from "../../services/shared/logger.ts";
import { createMetrics } from "../../services/shared/metrics.ts";
import { listenOnLoopback, TEST_PRINCIPAL_SECRET } from "./serviceApp.ts";

// The business domain's gateway, real, in front of stand-ins: an auth and quota stand-in that
// admits every key as user-1, and for each service the URL a test picks (a stand-in of its own,
// or a dead port). For gateway tests about what the gateway does with what it is answered.

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
type Closers = Array<() => Promise<void> | void>;

/** A server on loopback for `handler`, closed with the others in `closers`. */
export const standIn = (handler: Handler, closers: Closers) =>
  listenOnLoopback(createServer(handler), closers);

/** Admits every key as user-1: auth's verify and quota's check alike; no key is ever revoked. */
export const admitEveryone = (closers: Closers) =>
  standIn((req, res) => {
    req.resume();
    res.setHeader("content-type", "application/json");
    if (req.url === "/internal/revocations")
      return void res.end(JSON.stringify({ revoked: [], until: new Date().toISOString() }));
    res.end(JSON.stringify({ principal: { userId: "user-1", keyId: "key_1", plan: "free" } }));
  }, closers);

/** The business gateway on loopback, each service's versions sent to `upstreamOf(service)`. */
export async function businessGateway(args: {
  catalog: Catalog;
  upstreamOf: (service: string) => string;
  closers: Closers;
  /** The auth and quota stand-in; default `admitEveryone`. */
  auth?: string;
  options?: Partial<GatewayOptions>;
}): Promise<string> {
  const auth = args.auth ?? (await admitEveryone(args.closers));
  const gateway = createGateway({
    catalog: args.catalog,
    domain: "business",
    upstreams: Object.fromEntries(
      services(args.catalog)
        .filter((s) => s.domain === "business")
        .flatMap((s) =>
          s.versions.map((v) => [versionedName(s.name, v.name), [args.upstreamOf(s.name)]]),
        ),
    ),
    authUrls: [auth],
    quotaUrls: [auth],
    principalSecret: TEST_PRINCIPAL_SECRET,
    store: memoryCache(),
    logger: createLogger("business-gateway"),
    metrics: createMetrics("business-gateway"),
    proxyHops: 1,
    draining: () => false,
    ...args.options,
  });
  args.closers.push(gateway.close);
  return listenOnLoopback(createServer(gateway.handler), args.closers);
}
