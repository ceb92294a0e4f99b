import type {
  PolicyResource,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { mocks } from "./mocks.ts";
import type { ResourceRecord } from "./records.ts";

// Runs a CrossGuard policy pack over the resources the mock harness recorded, the way the
// engine runs it over a preview: each resource policy sees one resource's inputs, each stack
// policy sees all of them with their property dependencies. Dependencies are rebuilt from the
// values the mock engine handed out (ids, ARNs, names...): an input that holds another
// resource's output depends on that resource.

export interface Violation {
  policy: string;
  /** The resource reported, when the policy named one. */
  urn?: string;
  message: string;
}

type Policy = ResourceValidationPolicy | StackValidationPolicy;

/** The default of each property of a policy's config schema, as the engine fills them in. */
function configOf(policy: Policy): Record<string, unknown> {
  const properties = policy.configSchema?.properties ?? {};
  return Object.fromEntries(
    Object.entries(properties)
      .filter(([, schema]) => (schema as { default?: unknown }).default !== undefined)
      .map(([key, schema]) => [key, (schema as { default?: unknown }).default]),
  );
}

function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => strings(v, out));
  else if (value && typeof value === "object") Object.values(value).forEach((v) => strings(v, out));
  return out;
}

/** Seconds in a duration as the program writes them (`15m`, `1h`, `90s`); 0 when unset. */
function seconds(duration: string | undefined): number {
  const match = /^(\d+)([hms])$/.exec(duration ?? "");
  if (!match) return 0;
  return Number(match[1]) * { h: 3600, m: 60, s: 1 }[match[2] as "h" | "m" | "s"];
}

/** Each recorded resource as a PolicyResource, with `propertyDependencies` resolved. */
export function policyResources(records: readonly ResourceRecord[]): PolicyResource[] {
  // What other resources can hold of each record: its id and the outputs the mock computed.
  const owners = new Map<string, ResourceRecord[]>();
  for (const r of records) {
    if (r.type.startsWith("platform:") || r.type.startsWith("pulumi:")) continue;
    const { id, state } = mocks.newResource({
      type: r.type,
      name: r.name,
      inputs: r.inputs,
      provider: "",
      custom: true,
    }) as { id: string; state: Record<string, unknown> };
    const computed = Object.entries(state)
      .filter(([key, value]) => JSON.stringify(r.inputs[key]) !== JSON.stringify(value))
      .flatMap(([, value]) => strings(value));
    for (const value of new Set([id, ...computed]))
      owners.set(value, [...(owners.get(value) ?? []), r]);
  }

  const byUrn = new Map<string, PolicyResource>();
  const resources = records.map((r) => {
    const resource: PolicyResource = {
      type: r.type,
      name: r.name,
      urn: r.urn,
      props: r.inputs,
      opts: {
        protect: false,
        ignoreChanges: [],
        aliases: [],
        customTimeouts: {
          createSeconds: seconds(r.customTimeouts?.create),
          updateSeconds: seconds(r.customTimeouts?.update),
          deleteSeconds: seconds(r.customTimeouts?.delete),
        },
        additionalSecretOutputs: [],
        ...(r.parent ? { parent: r.parent } : {}),
      },
      dependencies: [],
      propertyDependencies: {},
      isType: () => {
        throw new Error("policies here match on `type`, not on SDK classes");
      },
      asType: () => {
        throw new Error("policies here match on `type`, not on SDK classes");
      },
    };
    byUrn.set(r.urn, resource);
    return resource;
  });
  records.forEach((r, i) => {
    const resource = resources[i]!;
    for (const [key, value] of Object.entries(r.inputs)) {
      const found = strings(value)
        .flatMap((s) => owners.get(s) ?? [])
        .filter((o) => o.urn !== r.urn)
        .map((o) => byUrn.get(o.urn)!);
      if (found.length > 0) resource.propertyDependencies[key] = [...new Set(found)];
    }
    resource.dependencies = [...new Set(Object.values(resource.propertyDependencies).flat())];
    if (r.parent) resource.parent = byUrn.get(r.parent);
  });
  return resources;
}

/** Every violation the policies report over `records`, as the engine would list them. */
export async function runPolicies(
  records: readonly ResourceRecord[],
  policies: readonly Policy[],
): Promise<Violation[]> {
  const resources = policyResources(records);
  const violations: Violation[] = [];
  const notApplicable = (): never => {
    throw notApplicableSignal;
  };
  for (const policy of policies) {
    const config = configOf(policy);
    const report = (urn?: string) => (message: string, reported?: string) =>
      violations.push({ policy: policy.name, message, urn: reported ?? urn });
    try {
      if ("validateStack" in policy) {
        const args: StackValidationArgs = {
          resources,
          stackTags: new Map(),
          getConfig: <T extends object>() => config as T,
          notApplicable,
        };
        await policy.validateStack(args, report());
        continue;
      }
      const validations = [policy.validateResource ?? []].flat();
      for (const r of resources) {
        const args: ResourceValidationArgs = {
          type: r.type,
          name: r.name,
          urn: r.urn,
          props: r.props,
          opts: r.opts,
          stackTags: new Map(),
          isType: r.isType,
          asType: () => undefined,
          getConfig: <T extends object>() => config as T,
          notApplicable,
        };
        for (const validate of validations) {
          // A resource-level report always names the resource being validated.
          await validate(args, (message) => report(r.urn)(message));
        }
      }
    } catch (err) {
      if (err !== notApplicableSignal) throw err;
    }
  }
  return violations;
}

const notApplicableSignal = Symbol("not applicable");
