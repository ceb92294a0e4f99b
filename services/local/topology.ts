import { domains, services, type Catalog } from "../../infra/catalog/index.ts";
import {
  entrypoint,
  envKey,
  gatewayEnv,
  routerEnv,
  serviceEnv,
  versionedName,
  type DataEndpoints,
  type Env,
} from "../../infra/runtimeEnv.ts";

/** One process of the local topology. */
export interface ProcessSpec {
  /** Unique and stable: `orders-2`, `identity-gateway-1`, `router-1`. */
  name: string;
  tier: "service" | "gateway" | "router";
  script: string;
  port: number;
  env: Env;
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
  };
  const url = (port: number) => `http://127.0.0.1:${port}`;
  const specs: ProcessSpec[] = [];
  const addresses = {
    tiers: {} as Record<string, string[]>,
    services: {} as Record<string, string[]>,
  };

  // Every replica's port first: a service's environment holds the addresses of those it calls.
  const replicas = services(catalog).flatMap((s) =>
    s.versions.flatMap((v) =>
      Array.from({ length: s.replicas }, (_, i) => ({
        service: s.name,
        version: v.name,
        name: v.name === "v1" ? `${s.name}-${i + 1}` : `${s.name}-${v.name}-${i + 1}`,
        port: opts.allocatePort(),
      })),
    ),
  );
  for (const r of replicas) {
    const key = versionedName(r.service, r.version);
    (addresses.services[key] ??= []).push(url(r.port));
  }
  for (const r of replicas) {
    const env = {
      ...common,
      ...serviceEnv(catalog, r.service, r.port, opts.data, r.version, addresses),
    };
    if (r.service === "auth") env[envKey.demoApiKey] = opts.demoApiKey;
    specs.push({
      name: r.name,
      tier: "service",
      script: entrypoint(r.service),
      port: r.port,
      env,
    });
  }
  const gatewayPorts = new Map<string, number[]>();
  for (const d of domains(catalog)) {
    const ports = Array.from({ length: d.gateway.replicas }, () => opts.allocatePort());
    gatewayPorts.set(d.name, ports);
    addresses.tiers[d.name] = ports.map(url);
  }
  for (const d of domains(catalog)) {
    gatewayPorts.get(d.name)!.forEach((port, i) => {
      specs.push({
        name: `${d.name}-gateway-${i + 1}`,
        tier: "gateway",
        script: entrypoint("gateway"),
        port,
        env: { ...common, ...gatewayEnv(catalog, d.name, addresses, port, opts.data) },
      });
    });
  }
  for (let i = 1; i <= catalog.router.replicas; i++) {
    specs.push({
      name: `router-${i}`,
      tier: "router",
      script: entrypoint("router"),
      port: opts.routerPort,
      env: {
        ...common,
        [envKey.reusePort]: "1",
        ...routerEnv(catalog, addresses, opts.routerPort),
      },
    });
  }
  return specs;
}
