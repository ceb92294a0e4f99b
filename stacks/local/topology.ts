import { randomBytes } from "node:crypto";
import { domains, services, type Catalog } from "../../platform/catalog/index.ts";
import {
  entrypoint,
  envKey,
  gatewayEnv,
  routerEnv,
  scrapeTargets,
  serviceEnv,
  versionedName,
  type Addresses,
  type DataEndpoints,
  type Env,
} from "../../platform/runtimeEnv.ts";

/** One process of the local topology. */
export interface ProcessSpec {
  /** Unique and stable: `orders-2`, `identity-gateway-1`, `router-1`. */
  name: string;
  tier: "service" | "gateway" | "router";
  script: string;
  port: number;
  env: Env;
  /** The tree it runs from when its version names a source (infra/sourceTrees.ts). */
  cwd?: string;
}

export interface LocalOptions {
  routerPort: number;
  /** Gives each non-router process a port of its own. */
  allocatePort: () => number;
  data: DataEndpoints;
  dataDir: string;
  demoApiKey: string;
  /**
   * Node's compile cache (NODE_COMPILE_CACHE) for every process: all run the same modules, and a
   * warm cache cuts each one's start-up CPU by about a quarter, which adds up over a topology.
   */
  compileCacheDir?: string;
  /** Replicas of every service, gateway tier and router; default: the catalog's counts. */
  replicas?: number;
  /** NODE_OPTIONS of every process (`npm start` sets V8's heap sizes, bench/README.md). */
  nodeOptions?: string;
  /** The trees sourced versions run from, by `<service>@<version>` (infra/sourceTrees.ts). */
  sourceTrees?: ReadonlyMap<string, string>;
  /** The operators' token for the gateways' `/admin` (the Upgrade Manager moves weights there). */
  adminToken?: string;
}

/**
 * The default topology as local processes, from the catalog: every service and gateway replica
 * on a loopback port of its own, and the router replicas sharing the public port.
 */
export function localTopology(catalog: Catalog, opts: LocalOptions): ProcessSpec[] {
  // Health checks run every second, so 1.5 s of draining is enough for callers to move away.
  const common: Env = {
    [envKey.host]: "127.0.0.1",
    [envKey.dataDir]: opts.dataDir,
    [envKey.drainDelayMs]: "1500",
    ...(opts.compileCacheDir ? { NODE_COMPILE_CACHE: opts.compileCacheDir } : {}),
    ...(opts.nodeOptions ? { NODE_OPTIONS: opts.nodeOptions } : {}),
  };
  // One per run, as a stack has one: what the gateways sign and the services check.
  const signing: Env = { [envKey.principalSecret]: randomBytes(32).toString("base64url") };
  const url = (port: number) => `http://127.0.0.1:${port}`;
  const specs: ProcessSpec[] = [];
  const addresses: Required<Addresses> = { tiers: {}, services: {}, replicas: [] };

  // Every port first: a process's environment holds the addresses of those it calls, and the
  // monitoring service's holds every replica's.
  const replicas = services(catalog).flatMap((s) =>
    s.versions.flatMap((v) =>
      Array.from({ length: opts.replicas ?? s.replicas }, (_, i) => ({
        service: s.name,
        domain: s.domain,
        version: v.name,
        name: v.name === "v1" ? `${s.name}-${i + 1}` : `${s.name}-${v.name}-${i + 1}`,
        port: opts.allocatePort(),
      })),
    ),
  );
  const gateways = domains(catalog).flatMap((d) =>
    Array.from({ length: opts.replicas ?? d.gateway.replicas }, (_, i) => ({
      domain: d.name,
      name: `${d.name}-gateway-${i + 1}`,
      port: opts.allocatePort(),
    })),
  );
  // The router replicas share the public port, so each also answers health and metrics on a
  // port of its own, where monitoring can reach that one replica.
  const routers = Array.from({ length: opts.replicas ?? catalog.router.replicas }, (_, i) => ({
    name: `router-${i + 1}`,
    opsPort: opts.allocatePort(),
  }));

  for (const r of replicas) {
    const key = versionedName(r.service, r.version);
    (addresses.services[key] ??= []).push(url(r.port));
  }
  for (const g of gateways) (addresses.tiers[g.domain] ??= []).push(url(g.port));
  const ids = (named: Array<{ name: string; port: number }>) => ({
    replicas: named.map((r) => ({ id: r.name, url: url(r.port) })),
  });
  addresses.replicas = scrapeTargets(catalog, {
    router: () => ids(routers.map((r) => ({ name: r.name, port: r.opsPort }))),
    tier: (domain) => ids(gateways.filter((g) => g.domain === domain)),
    service: (service, version) =>
      ids(replicas.filter((r) => r.service === service && r.version === version)),
  });

  for (const r of replicas) {
    const env = {
      ...common,
      ...signing,
      ...serviceEnv(catalog, r.service, r.port, opts.data, r.version, addresses),
    };
    if (catalog.services[r.service]!.role === "api-keys") env[envKey.demoApiKey] = opts.demoApiKey;
    // As on the stacks: monitoring opens to the public edge for those who send the admin token
    // (the run's, in operator.json), which `npm run upgrade -- --url` does.
    if (catalog.services[r.service]!.role === "monitoring" && opts.adminToken)
      env[envKey.adminToken] = opts.adminToken;
    specs.push({
      name: r.name,
      tier: "service",
      script: entrypoint(r.service),
      port: r.port,
      env,
      cwd: opts.sourceTrees?.get(`${r.service}@${r.version}`),
    });
  }
  for (const g of gateways) {
    specs.push({
      name: g.name,
      tier: "gateway",
      script: entrypoint("gateway"),
      port: g.port,
      env: {
        ...common,
        ...signing,
        ...gatewayEnv(catalog, g.domain, addresses, g.port, "local", opts.data),
        [envKey.tierReplicas]: String(gateways.filter((o) => o.domain === g.domain).length),
        ...(opts.adminToken ? { [envKey.adminToken]: opts.adminToken } : {}),
      },
    });
  }
  for (const r of routers) {
    specs.push({
      name: r.name,
      tier: "router",
      script: entrypoint("router"),
      port: opts.routerPort,
      env: {
        ...common,
        [envKey.reusePort]: "1",
        ...routerEnv(catalog, addresses, opts.routerPort, r.opsPort),
      },
    });
  }
  return specs;
}
