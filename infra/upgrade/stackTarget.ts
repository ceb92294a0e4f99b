import type * as pulumi from "@pulumi/pulumi";
import type { Catalog } from "../../platform/catalog/index.ts";
import type { UpgradeTarget } from "./manager.ts";
import { remoteTarget } from "./remoteTarget.ts";

// The Upgrade Manager's target for a stack it deploys itself, through Pulumi's Automation API
// (`npm run upgrade -- --stack NAME`): a version the stack does not run yet goes up with
// `pulumi up` (the checkout's catalog lists it at weight 0, and the policy pack checks the
// update), then the weights move through the stack's public edge as with `--url`, and at the
// end a `pulumi preview` shows that the stack's config and state still match what runs.
// The weights themselves never go through Pulumi: they live in the tiers' stores, so moving
// them restarts nothing, and the live ones hold until the catalog's own weights change
// (services/gateway/versionRouter.ts).

export interface StackTargetOptions {
  catalog: Catalog;
  stack: pulumi.automation.Stack;
  /** An API key with the `admin` scope. */
  apiKey: string;
  /** The project's policy pack, run over the update as `npm run up` would be. */
  policyPack: string;
  log: (line: string) => void;
  /** How long the gateways may take to route a newly deployed version after the update. */
  routedWithinMs?: number;
  pollMs?: number;
}

/** A resource of an exported deployment, as much of it as this reads. */
interface StateResource {
  urn: string;
  type: string;
  outputs?: Record<string, unknown>;
}

/** A secret of an export made with `--show-secrets`: the value, or its JSON as `plaintext`. */
function revealed(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  const plaintext = (value as { plaintext?: unknown } | undefined)?.plaintext;
  return typeof plaintext === "string" ? (JSON.parse(plaintext) as string) : undefined;
}

/** The stack's ADMIN_TOKEN (infra/adminToken.ts), from its state: it is no output, on purpose. */
async function adminTokenOf(stack: pulumi.automation.Stack, catalog: Catalog): Promise<string> {
  const { deployment } = (await stack.exportStack()) as {
    deployment: { resources?: StateResource[] };
  };
  const token = (deployment.resources ?? []).find(
    (r) =>
      r.type === "random:index/randomPassword:RandomPassword" &&
      r.urn.endsWith(`::${catalog.name}-admin-token`),
  );
  const value = revealed(token?.outputs?.["result"]);
  if (!value) throw new Error(`stack ${stack.name} holds no admin token: is it deployed?`);
  return value;
}

export async function stackTarget(o: StackTargetOptions): Promise<UpgradeTarget> {
  const outputs = await o.stack.outputs();
  const url = outputs["url"]?.value as string | undefined;
  if (!url) throw new Error(`stack ${o.stack.name} has no url output: is it deployed?`);
  const remote = remoteTarget({
    catalog: o.catalog,
    url,
    apiKey: o.apiKey,
    adminToken: await adminTokenOf(o.stack, o.catalog),
    ...(o.pollMs !== undefined ? { pollMs: o.pollMs } : {}),
  });
  const routes = async (service: string, version: string) =>
    version in (await remote.weights(service));
  // The engine's lines, without its progress dots (written for a terminal that redraws them).
  const engineLog = (text: string) => {
    for (const line of text.split("\n"))
      if (!/^\s*(@ updating)?\.*\s*$/.test(line)) o.log(`  | ${line.trimEnd()}`);
  };

  return {
    ...remote,

    async deploy(service, version) {
      if (await routes(service, version)) return;
      const spec = o.catalog.services[service]?.versions.find((v) => v.name === version);
      if (!spec)
        throw new Error(
          `the catalog has no ${service} ${version}: add it to platform/catalog/default.ts at weight 0`,
        );
      if (spec.weight !== 0)
        throw new Error(
          `the catalog gives ${service} ${version} weight ${spec.weight}: a new version is deployed at weight 0 and the upgrade moves traffic to it`,
        );
      o.log(`${service} ${version} is not deployed: pulumi up --stack ${o.stack.name}`);
      const started = Date.now();
      const result = await o.stack.up({
        onOutput: engineLog,
        color: "never",
        policyPacks: [o.policyPack],
      });
      const changes = Object.entries(result.summary.resourceChanges ?? {})
        .filter(([op]) => op !== "same")
        .map(([op, n]) => `${n} ${op}`);
      o.log(
        `pulumi up: ${changes.join(", ") || "no changes"} in ${((Date.now() - started) / 1000).toFixed(0)} s`,
      );
      // The tiers' gateways route a version once the ones deployed with it answer.
      const deadline = Date.now() + (o.routedWithinMs ?? 120_000);
      while (!(await routes(service, version).catch(() => false))) {
        if (Date.now() > deadline)
          throw new Error(
            `pulumi up finished, but the gateways at ${url} do not route ${service} ${version}`,
          );
        await new Promise((ok) => setTimeout(ok, 1_000));
      }
    },

    async settle(service, weights) {
      const preview = await o.stack.preview({ color: "never" });
      const changes = Object.entries(preview.changeSummary)
        .filter(([op, n]) => op !== "same" && (n ?? 0) > 0)
        .map(([op, n]) => `${n} to ${op}`);
      if (changes.length > 0)
        throw new Error(
          `pulumi preview --stack ${o.stack.name} after the upgrade shows changes (${changes.join(", ")}): the stack's config or code moved while it ran`,
        );
      const catalogWeights = Object.fromEntries(
        o.catalog.services[service]!.versions.map((v) => [v.name, v.weight]),
      );
      o.log(
        `pulumi preview: no changes. The live weights ${JSON.stringify(weights)} hold until the catalog's (${JSON.stringify(catalogWeights)}) change; write them there with the next deploy`,
      );
    },
  };
}
