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
  };
  const url = (port: number) => `http://127.0.0.1:${port}`;
  const specs: ProcessSpec[] = [];
  const addresses = {
    tiers: {} as Record<string, string[]>,
    services: {} as Record<string, string[]>,
  };

  for (const s of services(catalog)) {
    for (const v of s.versions) {
      const key = versionedName(s.name, v.name);
      addresses.services[key] = [];
      for (let i = 1; i <= s.replicas; i++) {
        const port = opts.allocatePort();
        addresses.services[key]!.push(url(port));
        const env = { ...common, ...serviceEnv(catalog, s.name, port, opts.data, v.name) };
        if (s.name === "auth") env[envKey.demoApiKey] = opts.demoApiKey;
        const name = v.name === "v1" ? `${s.name}-${i}` : `${s.name}-${v.name}-${i}`;
        specs.push({ name, tier: "service", script: entrypoint(s.name), port, env });
      }
    }
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
