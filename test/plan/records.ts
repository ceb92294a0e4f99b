// The mock harness's view of a planned stack: one record per registered resource, and the
// queries tests and the plan script ask of them.

export interface ResourceRecord {
  urn: string;
  /** Type token, e.g. `aws:ecs/service:Service` or `platform:aws:ServiceGroup`. */
  type: string;
  name: string;
  /** URN of the parent resource, if any. */
  parent?: string;
  /** The URNs the resource's `aliases` option names: the state it takes over after a move. */
  aliases?: string[];
  /** Inputs as the engine received them; secret values read `[secret]`. */
  inputs: Record<string, unknown>;
  /** Set when the resource option `retainOnDelete` is: `destroy` leaves it in the account. */
  retainOnDelete?: true;
  /** The resource option `customTimeouts`, as Go durations (`15m`); empty when unset. */
  customTimeouts?: { create: string; update: string; delete: string };
}

/** What stands in for a secret value in every record. */
export const secretMark = "[secret]";

export class Records {
  readonly all: readonly ResourceRecord[];
  private readonly byUrn: Map<string, ResourceRecord>;

  constructor(records: readonly ResourceRecord[]) {
    this.all = records;
    this.byUrn = new Map(records.map((r) => [r.urn, r]));
  }

  byType(type: string): ResourceRecord[] {
    return this.all.filter((r) => r.type === type);
  }

  one(type: string, name: string): ResourceRecord {
    const found = this.all.find((r) => r.type === type && r.name === name);
    if (!found) throw new Error(`no ${type} named ${name}`);
    return found;
  }

  get(urn: string): ResourceRecord | undefined {
    return this.byUrn.get(urn);
  }

  /**
   * What an update from `before` to these records would touch, as `create|delete|update <type>
   * <name>` lines: the mock-level counterpart of a preview's steps (an update here may be a
   * replacement there; the real CLI tells those apart).
   */
  changedSince(before: Records): string[] {
    const line = (op: string, r: ResourceRecord) => `${op} ${r.type} ${r.name}`;
    const changes = this.all.flatMap((r) => {
      const old = before.get(r.urn);
      if (!old) return [line("create", r)];
      return JSON.stringify(old.inputs) === JSON.stringify(r.inputs) ? [] : [line("update", r)];
    });
    for (const r of before.all) if (!this.byUrn.has(r.urn)) changes.push(line("delete", r));
    return changes.sort();
  }

  /** Direct children of `parent`. */
  childrenOf(parent: ResourceRecord): ResourceRecord[] {
    return this.all.filter((r) => r.parent === parent.urn);
  }

  /** Every resource below `root`, at any depth. */
  descendantsOf(root: ResourceRecord): ResourceRecord[] {
    const children = this.childrenOf(root);
    return children.flatMap((c) => [c, ...this.descendantsOf(c)]);
  }

  /** The nearest enclosing component (not custom resource) of `record`, if any. */
  componentOf(record: ResourceRecord): ResourceRecord | undefined {
    let parent = record.parent ? this.get(record.parent) : undefined;
    while (parent && !parent.type.startsWith("platform:"))
      parent = parent.parent ? this.get(parent.parent) : undefined;
    return parent;
  }

  /** The availability zone of each subnet, by the subnet's (mock) id. */
  subnetZones(): Map<string, string> {
    return new Map(
      this.byType("aws:ec2/subnet:Subnet").map((s) => [
        mockId(s),
        String(s.inputs["availabilityZone"]),
      ]),
    );
  }

  /** Zones of the subnets a record places itself in (ECS services, ALBs, data stores...). */
  zonesOf(record: ResourceRecord): string[] {
    const zones = this.subnetZones();
    const ids = subnetIdsOf(record.inputs);
    return [
      ...new Set(ids.map((id) => zones.get(id)).filter((z): z is string => z !== undefined)),
    ].sort();
  }
}

/** The id the mock engine gives a resource (see test/plan/mocks.ts). */
export function mockId(record: Pick<ResourceRecord, "type" | "name">): string {
  return `${record.type.split(":").pop()!.toLowerCase()}-${record.name}`;
}

function subnetIdsOf(inputs: Record<string, unknown>): string[] {
  const ids: string[] = [];
  const visit = (value: unknown, key: string) => {
    if (Array.isArray(value)) value.forEach((v) => visit(v, key));
    else if (value && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) visit(v, k);
    } else if (
      typeof value === "string" &&
      /^(subnetId|subnetIds|subnets|clientSubnets)$/.test(key)
    ) {
      ids.push(value);
    }
  };
  visit(inputs, "");
  return ids;
}
