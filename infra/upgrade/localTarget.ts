import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Catalog } from "../../platform/catalog/index.ts";
import { versionedName } from "../../platform/runtimeEnv.ts";
import type { Overview } from "../../services/monitoring/scraper.ts";
import type { UpgradeTarget, VersionHealth, Weights } from "./manager.ts";

// The Upgrade Manager's target for a running `npm start`: what the run wrote to
// <DATA_DIR>/operator.json (the gateways' addresses, the run's admin token, monitoring), the
// gateways' `/admin/versions` for the weights and monitoring's overview for the figures. The
// versions already run (the catalog lists them, at weight 0 for a new one): nothing to deploy,
// and the weights live in the gateways, so nothing to settle either.

/** What `npm start` writes for the operators' tools (stacks/local/run.ts). */
export interface OperatorFile {
  url: string;
  adminToken: string;
  tiers: Record<string, string[]>;
  monitoring?: string;
}

export function readOperatorFile(dataDir: string): OperatorFile {
  const file = join(dataDir, "operator.json");
  try {
    return JSON.parse(readFileSync(file, "utf8")) as OperatorFile;
  } catch (err) {
    throw new Error(
      `no running \`npm start\` found: ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); start it, or pass its DATA_DIR with --data-dir`,
      { cause: err },
    );
  }
}

export interface LocalTargetOptions {
  catalog: Catalog;
  operator: OperatorFile;
  /** An API key with the `admin` scope, for the smoke test (it pins a version at weight 0). */
  apiKey?: string;
  /** How often monitoring is asked for a newer round. */
  pollMs?: number;
}

export function localTarget(o: LocalTargetOptions): UpgradeTarget {
  const pollMs = o.pollMs ?? 250;
  const tierOf = (service: string) => {
    const spec = o.catalog.services[service];
    if (!spec) throw new Error(`the catalog has no service ${service}`);
    const urls = o.operator.tiers[spec.domain];
    if (!urls?.length) throw new Error(`this run has no gateway for ${spec.domain}`);
    return urls;
  };
  const admin = { authorization: `Bearer ${o.operator.adminToken}` };
  // A run that was killed leaves its operator.json behind: say so rather than "fetch failed".
  const reach = (url: string, init?: RequestInit) =>
    fetch(url, init).catch((err: unknown) => {
      throw new Error(
        `cannot reach ${new URL(url).origin} (${((err as Error).cause as Error | undefined)?.message ?? (err as Error).message}): is the \`npm start\` of ${o.operator.url} still running?`,
        { cause: err },
      );
    });
  const answer = async (res: Response, what: string) => {
    const text = await res.text();
    if (!res.ok) throw new Error(`${what} answered ${res.status}: ${text.slice(0, 300)}`);
    return JSON.parse(text) as unknown;
  };
  const overview = async (): Promise<Overview> => {
    if (!o.operator.monitoring) throw new Error("this run has no monitoring service");
    const res = await reach(`${o.operator.monitoring}/v1/monitoring`);
    return (await answer(res, "monitoring")) as Overview;
  };

  return {
    async weights(service) {
      const [tier] = tierOf(service);
      const all = (await answer(
        await reach(`${tier}/admin/versions`, { headers: admin }),
        `${tier}/admin/versions`,
      )) as Record<string, Weights>;
      const weights = all[service];
      if (!weights) throw new Error(`the ${service} tier routes no versions of ${service}`);
      return weights;
    },

    async setWeights(service, weights) {
      // Every replica: a tier without a shared store (no Redis) keeps weights per replica.
      await Promise.all(
        tierOf(service).map(async (tier) =>
          answer(
            await reach(`${tier}/admin/versions/${service}`, {
              method: "PUT",
              headers: { ...admin, "content-type": "application/json" },
              body: JSON.stringify({ weights }),
            }),
            `${tier}/admin/versions/${service}`,
          ),
        ),
      );
    },

    async health(service, version, after): Promise<VersionHealth> {
      const group = versionedName(service, version);
      for (;;) {
        const o = await overview();
        const at = o.at ? Date.parse(o.at) : 0;
        if (at > after) {
          const replicas = o.groups.find(
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
      if (!o.catalog.services[service]?.versions.some((v) => v.name === version))
        throw new Error(
          `${service} ${version} is not in the catalog this run started with: add it at weight 0 and restart \`npm start\``,
        );
    },

    async smoke(service, version) {
      const route = o.catalog.services[service]?.routes[0];
      if (!route) return undefined;
      if (!o.apiKey) return "it needs --api-key, an admin key: only an admin may pin a version";
      for (let i = 0; i < 5; i++) {
        const res = await reach(`${o.operator.url}${route}`, {
          headers: { authorization: `Bearer ${o.apiKey}`, "x-api-version": version },
        });
        const body = await res.text();
        if (res.status >= 500 || res.status === 401 || res.status === 403)
          return `GET ${route} answered ${res.status}: ${body.slice(0, 200)}`;
      }
      return undefined;
    },

    async settle() {
      // The weights live in the gateways: restarting `npm start` goes back to the catalog's.
    },
  };
}
