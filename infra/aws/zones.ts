import { StackConfigError } from "../stackConfigError.ts";

// Which availability zones the AWS stack spans. Zone names (us-east-1a) map to different physical
// zones in each account; zone IDs (use1-az1) do not, and AWS states its exceptions by zone ID.

/**
 * Zone IDs where MSK places no client subnet (and so no broker): every domain has a Kafka
 * cluster in every zone of the network, so the whole network avoids them.
 * https://docs.aws.amazon.com/msk/1.0/apireference/clusters.html ("Client subnets can't occupy
 * the Availability Zone with ID use1-az3.")
 */
export const MSK_REFUSED_ZONE_IDS: readonly string[] = ["use1-az3"];

/** What `aws.getAvailabilityZones` answers: names and zone IDs, in the same order. */
export interface RegionZones {
  names: string[];
  zoneIds: string[];
}

/**
 * The `count` zone names to span: those of the configured zone IDs (stackConfig.ts has refused
 * the ones MSK does not take), else the region's first zones that MSK accepts.
 */
export function chooseZones(region: RegionZones, count: number, configured?: string[]): string[] {
  const zones = region.names.map((name, i) => ({ name, id: region.zoneIds[i] ?? "" }));
  if (configured) {
    return configured.slice(0, count).map((id) => {
      const zone = zones.find((z) => z.id === id);
      if (!zone)
        throw new StackConfigError([
          `platform:availabilityZones: ${id} is not an available zone ID of the region (${zones.map((z) => z.id).join(", ")})`,
        ]);
      return zone.name;
    });
  }
  const usable = zones.filter((z) => !MSK_REFUSED_ZONE_IDS.includes(z.id));
  if (usable.length < count)
    throw new StackConfigError([
      `catalog.zones is ${count} but the region has only ${usable.length} available zones where MSK runs (${usable.map((z) => z.id).join(", ")})`,
    ]);
  return usable.slice(0, count).map((z) => z.name);
}
