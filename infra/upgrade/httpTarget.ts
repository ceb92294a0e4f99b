import type { Catalog } from "../../platform/catalog/index.ts";
import { versionedName } from "../../platform/runtimeEnv.ts";
import type { Overview } from "../../services/monitoring/scraper.ts";
import type { UpgradeTarget, VersionHealth, Weights } from "./manager.ts";

// What the Upgrade Manager's targets share: a platform reached over HTTP, whose gateways hold the
// weights (live, in the tier's store) and whose monitoring reports each replica per round. The
// targets differ in how they reach those (localTarget.ts: the run's own ports and admin token;
// remoteTarget.ts: a deployed stack's public edge and an admin API key).

/** How one target reaches the platform. */
export interface Wiring {
  /** For messages: "the `npm start` of http://..." or "http://...". */
  describe: string;
  readWeights(service: string): Promise<Weights>;
  writeWeights(service: string, weights: Weights): Promise<void>;
  overview(): Promise<Overview>;
  /** The public URL to send a version's smoke requests to, and the admin key to pin it with. */
  publicUrl: string;
  apiKey?: string | undefined;
}

/** `fetch`, with a refusal said in words that name the platform rather than "fetch failed". */
export function reacher(describe: string) {
  return (url: string, init?: RequestInit) =>
    fetch(url, init).catch((err: unknown) => {
      throw new Error(
        `cannot reach ${new URL(url).origin} (${((err as Error).cause as Error | undefined)?.message ?? (err as Error).message}): is ${describe} still running?`,
        { cause: err },
      );
    });
}

/** The JSON of a 2xx answer; any other answer as an error naming what answered it. */
export async function jsonOf(res: Response, what: string): Promise<unknown> {
  const text = await res.text();
  if (!res.ok) throw new Error(`${what} answered ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as unknown;
}

export interface HttpTargetOptions {
  catalog: Catalog;
  wiring: Wiring;
  /** How often monitoring is asked for a newer round. */
  pollMs?: number;
  /** Whether a version of the catalog runs (a deployed stack is asked; `npm start` runs them all). */
  deployed?: (service: string, version: string) => Promise<boolean>;
  notDeployed: (service: string, version: string) => string;
  /** Where the final weights are kept, said once the upgrade is over. */
  settle?: UpgradeTarget["settle"];
}

export function httpTarget(o: HttpTargetOptions): UpgradeTarget {
  const pollMs = o.pollMs ?? 250;
  const { wiring } = o;
  const reach = reacher(wiring.describe);

  return {
    weights: (service) => wiring.readWeights(service),
    setWeights: (service, weights) => wiring.writeWeights(service, weights),

    async health(service, version, after): Promise<VersionHealth> {
      const group = versionedName(service, version);
      for (;;) {
        const seen = await wiring.overview();
        const at = seen.at ? Date.parse(seen.at) : 0;
        if (at > after) {
          const replicas = seen.groups.find(
            (g) => g.kind === "service" && g.group === group,
          )?.replicas;
          if (!replicas) throw new Error(`monitoring watches no ${service} ${version}`);
          const p95s = replicas.flatMap((r) =>
            r.latencyP95Ms === undefined ? [] : [r.latencyP95Ms],
          );
          return {
            at,
            replicas: replicas.length,
            ready: replicas.filter((r) => r.ready).length,
            requests: replicas.reduce((t, r) => t + (r.requests ?? 0), 0),
            requestRate: replicas.reduce((t, r) => t + (r.requestRate ?? 0), 0),
            errorRate: replicas.reduce((t, r) => t + (r.errorRate ?? 0), 0),
            ...(p95s.length > 0 ? { p95Ms: Math.max(...p95s) } : {}),
          };
        }
        await new Promise((ok) => setTimeout(ok, pollMs));
      }
    },

    async deploy(service, version) {
      const known = o.catalog.services[service]?.versions.some((v) => v.name === version);
      if (!known || (o.deployed && !(await o.deployed(service, version))))
        throw new Error(o.notDeployed(service, version));
    },

    async smoke(service, version) {
      const route = o.catalog.services[service]?.routes[0];
      if (!route) return undefined;
      if (!wiring.apiKey)
        return "it needs --api-key, an admin key: only an admin may pin a version";
      for (let i = 0; i < 5; i++) {
        const res = await reach(`${wiring.publicUrl}${route}`, {
          headers: { authorization: `Bearer ${wiring.apiKey}`, "x-api-version": version },
        });
        const body = await res.text();
        if (res.status >= 500 || res.status === 401 || res.status === 403)
          return `GET ${route} answered ${res.status}: ${body.slice(0, 200)}`;
      }
      return undefined;
    },

    settle: o.settle ?? (async () => undefined),
  };
}
