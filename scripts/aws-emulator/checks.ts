import type { ResourceRecord } from "../../test/plan/records.ts";

// What `pulumi up` against the emulator must have deployed, checked on the stack's state (the
// provider's reads of the emulator after each create): every resource the program declares
// (the mock engine's records of the same stack), unless its creation failed; the ALB's listener
// rules with the catalog's path patterns; every ECS service on a deployed task definition; a
// database, a Redis and a Kafka cluster per data domain; every alarm notifying the alarm topic.

export interface StateResource {
  urn: string;
  type: string;
  custom?: boolean;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
}

const nameOf = (urn: string) => urn.split("::").pop()!;
const typeOf = (urn: string) => urn.split("::")[2]!.split("$").pop()!;

/**
 * The problems found, and a line on how much was deployed; `failed` (URN -> error) lists what
 * the run already reports as failed.
 */
export function checkDeployment(
  planned: readonly ResourceRecord[],
  state: readonly StateResource[],
  failed: ReadonlyMap<string, string>,
): { problems: string[]; summary: string } {
  const problems: string[] = [];
  const deployed = new Set(state.map((r) => `${r.type} ${nameOf(r.urn)}`));
  const failedKeys = new Set([...failed.keys()].map((urn) => `${typeOf(urn)} ${nameOf(urn)}`));
  const custom = planned.filter((r) => !r.type.startsWith("platform:"));
  const missing = custom.filter((r) => !deployed.has(`${r.type} ${r.name}`));
  // A resource that waits on a failed one is never attempted: a consequence, not a second gap.
  const unexplained = missing.filter((r) => !failedKeys.has(`${r.type} ${r.name}`));
  if (failed.size === 0 && unexplained.length > 0)
    problems.push(
      `${unexplained.length} declared resources are not in the state: ${unexplained
        .slice(0, 5)
        .map((r) => `${r.type} ${r.name}`)
        .join(", ")}`,
    );
  const byType = new Map<string, number>();
  for (const r of missing) byType.set(r.type, (byType.get(r.type) ?? 0) + 1);
  const summary =
    `emulate:aws: ${custom.length - missing.length} of ${custom.length} declared resources deployed` +
    (missing.length
      ? `; not deployed (failed, or waiting on one that failed): ${[...byType]
          .map(([type, n]) => `${type} ${n}`)
          .join(", ")}`
      : "");

  const of = (type: string) => state.filter((r) => r.type === type);
  const patterns = (rules: { conditions?: unknown }[]) =>
    rules
      .flatMap((r) => (r.conditions as { pathPattern?: { values?: string[] } }[] | undefined) ?? [])
      .flatMap((c) => c.pathPattern?.values ?? [])
      .sort();
  const plannedRules = planned.filter((r) => r.type === "aws:lb/listenerRule:ListenerRule");
  const rules = of("aws:lb/listenerRule:ListenerRule");
  if (rules.length > 0 || failed.size === 0) {
    const want = patterns(plannedRules.map((r) => r.inputs));
    const got = patterns(rules.map((r) => r.outputs ?? {}));
    if (JSON.stringify(got) !== JSON.stringify(want))
      problems.push(
        `the ALB's listener rules route ${got.join(" ")}; the catalog's routes are ${want.join(" ")}`,
      );
  }

  const taskDefinitions = new Set(
    of("aws:ecs/taskDefinition:TaskDefinition").map((t) => t.outputs?.["arn"]),
  );
  for (const service of of("aws:ecs/service:Service"))
    if (!taskDefinitions.has(service.outputs?.["taskDefinition"]))
      problems.push(
        `ECS service ${nameOf(service.urn)} runs ${String(service.outputs?.["taskDefinition"])}, not a deployed task definition`,
      );

  for (const type of [
    "aws:rds/instance:Instance",
    "aws:elasticache/replicationGroup:ReplicationGroup",
    "aws:msk/cluster:Cluster",
  ]) {
    const want = planned.filter((r) => r.type === type).length;
    const got = of(type).length;
    if (got !== want && !failed.size)
      problems.push(`${got} of ${want} ${type} deployed (one per data domain)`);
  }

  const topics = new Set(of("aws:sns/topic:Topic").map((t) => t.outputs?.["arn"]));
  for (const alarm of of("aws:cloudwatch/metricAlarm:MetricAlarm")) {
    const actions = (alarm.outputs?.["alarmActions"] as string[] | undefined) ?? [];
    if (!actions.some((a) => topics.has(a)))
      problems.push(
        `alarm ${nameOf(alarm.urn)} notifies ${actions.join(", ") || "nothing"}, not the alarm topic`,
      );
  }
  return { problems, summary };
}
