import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Catalog } from "../../platform/catalog/index.ts";
import type { Overview } from "../../services/monitoring/scraper.ts";
import { httpTarget, jsonOf, reacher } from "./httpTarget.ts";
import type { UpgradeTarget, Weights } from "./manager.ts";

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
  const describe = `the \`npm start\` of ${o.operator.url}`;
  const reach = reacher(describe);
  const tierOf = (service: string) => {
    const spec = o.catalog.services[service];
    if (!spec) throw new Error(`the catalog has no service ${service}`);
    const urls = o.operator.tiers[spec.domain];
    if (!urls?.length) throw new Error(`this run has no gateway for ${spec.domain}`);
    return urls;
  };
  const admin = { authorization: `Bearer ${o.operator.adminToken}` };

  return httpTarget({
    catalog: o.catalog,
    ...(o.pollMs !== undefined ? { pollMs: o.pollMs } : {}),
    notDeployed: (service, version) =>
      `${service} ${version} is not in the catalog this run started with: add it at weight 0 and restart \`npm start\``,
    wiring: {
      describe,
      publicUrl: o.operator.url,
      apiKey: o.apiKey,
      async readWeights(service) {
        const [tier] = tierOf(service);
        const url = `${tier}/admin/versions`;
        const all = (await jsonOf(await reach(url, { headers: admin }), url)) as Record<
          string,
          Weights
        >;
        const weights = all[service];
        if (!weights) throw new Error(`the ${service} tier routes no versions of ${service}`);
        return weights;
      },
      async writeWeights(service, weights) {
        // Every replica: a tier without a shared store (no Redis) keeps weights per replica.
        await Promise.all(
          tierOf(service).map(async (tier) => {
            const url = `${tier}/admin/versions/${service}`;
            const init = {
              method: "PUT",
              headers: { ...admin, "content-type": "application/json" },
              body: JSON.stringify({ weights }),
            };
            return jsonOf(await reach(url, init), url);
          }),
        );
      },
      async overview(): Promise<Overview> {
        if (!o.operator.monitoring) throw new Error("this run has no monitoring service");
        const url = `${o.operator.monitoring}/v1/monitoring`;
        return (await jsonOf(await reach(url), "monitoring")) as Overview;
      },
    },
  });
}
