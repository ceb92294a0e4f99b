import type { Catalog } from "../../platform/catalog/index.ts";
import { CatalogError, domains, services } from "../../platform/catalog/index.ts";
import type { StackSettings } from "../stackConfig.ts";
import { nameProblems } from "./names.ts";
import { workloadName } from "../../platform/names.ts";

// What AWS refuses, or quietly does differently, for a catalog that every other target accepts.
// The AWS stack runs these before declaring any resource, so that a wrong catalog stops with a
// message naming the field instead of failing halfway through `pulumi up`.

/**
 * MSK Provisioned takes two or three client subnets, in distinct zones, and places its brokers
 * evenly over them; the domain data stores put one in each of the catalog's zones.
 * https://docs.aws.amazon.com/msk/latest/developerguide/msk-create-cluster.html
 */
export const MSK_CLIENT_SUBNETS = { min: 2, max: 3 } as const;

/**
 * Cloud Map's MULTIVALUE routing answers a DNS query with at most eight healthy instances, chosen
 * at random above that. The gateways resolve every address of a service and spread load and
 * failover over all of them (services/shared/upstream.ts), and monitoring scrapes each one:
 * above eight tasks, both would see a random eight.
 * https://docs.aws.amazon.com/cloud-map/latest/api/API_DnsConfig.html
 */
export const CLOUD_MAP_MAX_ANSWERS = 8;

/**
 * Every problem of the catalog on AWS under these settings, each naming its field. The Cloud Map
 * limit is checked at full scale-out (`replicas` x `platform:maxScaleFactor`). Why not another
 * discovery above eight tasks: an internal load balancer or ECS Service Connect would put one
 * address (a proxy) in front of the replicas, and the gateways' per-replica failover and
 * monitoring's per-task scrape need to see each task; eight tasks per version is also far above
 * what the default topology runs (2 x 3). A rolling deployment briefly runs up to twice the tasks
 * (deploymentMaximumPercent 200): callers then see 8 of the old and new ones, all healthy, for
 * the minutes it lasts.
 */
export function awsCatalogProblems(
  catalog: Catalog,
  settings: Pick<StackSettings, "kafka" | "maxScaleFactor">,
  stack: string,
): string[] {
  const problems: string[] = [];
  const { min, max } = MSK_CLIENT_SUBNETS;
  if (settings.kafka === "provisioned" && (catalog.zones < min || catalog.zones > max)) {
    problems.push(
      `catalog.zones: MSK takes ${min} or ${max} client subnets, one per zone, and every domain has a Kafka cluster on AWS (got ${catalog.zones} zones)`,
    );
  }
  const factor = settings.maxScaleFactor;
  const fitsCloudMap = (field: string, label: string, replicas: number) => {
    if (replicas * factor <= CLOUD_MAP_MAX_ANSWERS) return;
    problems.push(
      `${field}: ${replicas} replicas scale out to ${replicas * factor} tasks (platform:maxScaleFactor ${factor}), but Cloud Map answers "${label}" with at most ${CLOUD_MAP_MAX_ANSWERS} of them, so gateways and monitoring would see a random ${CLOUD_MAP_MAX_ANSWERS}; use at most ${Math.floor(CLOUD_MAP_MAX_ANSWERS / factor)} replicas or a lower platform:maxScaleFactor`,
    );
  };
  for (const d of domains(catalog))
    fitsCloudMap(
      `catalog.domains.${d.name}.gateway.replicas`,
      workloadName.tier(d.name),
      d.gateway.replicas,
    );
  for (const s of services(catalog))
    fitsCloudMap(
      `catalog.services.${s.name}.replicas`,
      workloadName.service(s.name, "v1"),
      s.replicas,
    );
  problems.push(...nameProblems(catalog, stack));
  return problems;
}

/** Throws a CatalogError listing every problem of the catalog on AWS. */
export function checkAwsCatalog(
  catalog: Catalog,
  settings: Pick<StackSettings, "kafka" | "maxScaleFactor">,
  stack: string,
): void {
  const problems = awsCatalogProblems(catalog, settings, stack);
  if (problems.length > 0) throw new CatalogError(problems);
}
