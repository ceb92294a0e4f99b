import type { Catalog } from "../../platform/catalog/index.ts";
import type { Overview } from "../../services/monitoring/scraper.ts";
import { VERSIONS_PATH } from "../../services/gateway/versionsPath.ts";
import { httpTarget, jsonOf, reacher } from "./httpTarget.ts";
import type { UpgradeTarget, Weights } from "./manager.ts";

// The Upgrade Manager's target for a deployed stack, through its public edge alone (the router
// on Docker, the ingress on Kubernetes, the ALB on AWS): the weights with an admin API key
// (`GET|PUT /v1/versions/{service}`, which the tier's gateways share through their store),
// monitoring's overview with the stack's admin token as well. A version that is not deployed
// is the stack's to deploy first (`pulumi up` with it at weight 0): the gateways of a tier
// route only the versions they were deployed with.

export interface RemoteTargetOptions {
  catalog: Catalog;
  /** The stack's public URL, e.g. http://127.0.0.1:8080 or https://api.example.com. */
  url: string;
  /** An API key with the `admin` scope. */
  apiKey: string;
  /** The stack's ADMIN_TOKEN, which monitoring asks of callers from the public edge. */
  adminToken: string;
  pollMs?: number;
}

export function remoteTarget(o: RemoteTargetOptions): UpgradeTarget {
  const describe = `the platform at ${o.url}`;
  const reach = reacher(describe);
  const key = { authorization: `Bearer ${o.apiKey}` };
  const weightsUrl = (service: string) => `${o.url}${VERSIONS_PATH}/${service}`;
  type Answer = { weights: Weights; shared: boolean };
  /** An answer about weights, refused when they would reach one replica of the tier alone. */
  const checked = (answer: Answer, service: string) => {
    if (!answer.shared)
      throw new Error(
        `the gateways of ${service}'s tier at ${o.url} keep weights each for themselves (no Redis): a change through the public edge would reach one replica; upgrade a local run with --local`,
      );
    return answer.weights;
  };
  const readWeights = async (service: string) => {
    const url = weightsUrl(service);
    return checked((await jsonOf(await reach(url, { headers: key }), url)) as Answer, service);
  };

  return httpTarget({
    catalog: o.catalog,
    ...(o.pollMs !== undefined ? { pollMs: o.pollMs } : {}),
    deployed: async (service, version) => version in (await readWeights(service)),
    notDeployed: (service, version) =>
      `${service} ${version} is not deployed at ${o.url}: add it to the catalog at weight 0 and deploy the stack (pulumi up) first`,
    // The weights live in the tiers' stores; the catalog's are where a new deployment starts.
    settle: async () => undefined,
    wiring: {
      describe,
      publicUrl: o.url,
      apiKey: o.apiKey,
      readWeights,
      async writeWeights(service, weights) {
        const url = weightsUrl(service);
        const init = {
          method: "PUT",
          headers: { ...key, "content-type": "application/json" },
          body: JSON.stringify({ weights }),
        };
        checked((await jsonOf(await reach(url, init), url)) as Answer, service);
      },
      async overview(): Promise<Overview> {
        const res = await reach(`${o.url}/v1/monitoring`, {
          headers: { ...key, "x-admin-token": o.adminToken },
        });
        return (await jsonOf(res, "monitoring")) as Overview;
      },
    },
  });
}
