import * as pulumi from "@pulumi/pulumi";
import type { Catalog } from "../../platform/catalog/index.ts";
import { catalog as defaultCatalog } from "../../platform/catalog/index.ts";
import type { StackOutputs } from "../../stacks/outputs.ts";
import { program } from "../../stacks/program.ts";
import { mocks } from "./mocks.ts";
import type { ResourceRecord } from "./records.ts";
import { Records, secretMark } from "./records.ts";
import { readStackFile } from "./stackFile.ts";

// Runs the real Pulumi program against Pulumi's mock engine and records every resource it
// registers. Used by `npm run plan` and by the mock tests of every stack.

/**
 * Stand-ins for the stack secrets a real stack keeps encrypted (never in Pulumi.<stack>.yaml).
 * Tests search every recorded input for these values to prove no secret leaks in plain text.
 */
export const mockSecrets: Record<string, string> = {
  "platform:redisAuthToken": "mock-redis-auth-token-do-not-print",
  "platform:postgresPassword": "mock-postgres-password-do-not-print",
};

export interface RunOptions {
  /** Reads `Pulumi.<stack>.yaml` from `projectDir`. */
  stack: string;
  /** Overrides or extends the stack file's config, e.g. `{ "platform:natGateways": "perZone" }`. */
  config?: Record<string, string>;
  /** Secret config values; default `mockSecrets`. */
  secrets?: Record<string, string>;
  /** Default: the current directory (the project root when run through npm or jest). */
  projectDir?: string;
  /** Default: the project's validated default catalog. */
  catalog?: Catalog;
  /** Runs this instead of the whole program, e.g. to test one component under the same mocks. */
  program?: (catalog: Catalog) => StackOutputs;
}

export interface RunResult {
  records: Records;
  outputs: { url: string; endpoints: Record<string, string> };
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getObject(): Parameters<typeof pulumi.runtime.deserializeProperties>[0];
  getRetainondelete(): boolean;
  getCustomtimeouts():
    { getCreate(): string; getUpdate(): string; getDelete(): string } | undefined;
  getAliasesList(): AliasMessage[];
}
interface AliasMessage {
  getUrn(): string;
  getSpec():
    | {
        getName(): string;
        getType(): string;
        getStack(): string;
        getProject(): string;
        getParenturn(): string;
        getNoparent(): boolean;
      }
    | undefined;
}
interface RegisterResponse {
  getUrn(): string;
}
type Callback = (err: unknown, response?: RegisterResponse) => void;
interface MockMonitor {
  registerResource(req: RegisterRequest, callback: Callback): Promise<void>;
}

const secretSig = pulumi.runtime.specialSecretSig;
const sigKey = pulumi.runtime.specialSigKey;

/** Plain JSON of deserialized inputs: secrets become `[secret]`, resources their URN. */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (pulumi.Resource.isInstance(value)) return "[resource]";
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[sigKey] === secretSig) return secretMark;
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

/**
 * The URNs a resource's aliases name: the same name, type and stack unless the spec says
 * otherwise, under the spec's parent. Named as the mock monitor names URNs, which prefixes the
 * parent's own type where the engine prefixes the parent's whole chain of types, so that they
 * compare with the records' URNs.
 */
function aliasUrns(req: RegisterRequest, urn: string): string[] {
  const [, stack, project] = /^urn:pulumi:([^:]*)::([^:]*)::/.exec(urn)!;
  return req.getAliasesList().map((alias) => {
    const spec = alias.getSpec();
    if (!spec) return alias.getUrn();
    const parent = spec.getNoparent() ? "" : spec.getParenturn() || req.getParent();
    const type = spec.getType() || req.getType();
    const qualified = parent ? `${parent.split("::")[2]!.split("$").pop()}$${type}` : type;
    return `urn:pulumi:${spec.getStack() || stack}::${spec.getProject() || project}::${qualified}::${spec.getName() || req.getName()}`;
  });
}

/**
 * The value of an output, or its failure (an Output's `apply` would swallow the error). Tests of
 * a component read its outputs with it once `recordComponents` has returned.
 */
export function settle<T>(output: pulumi.Output<T>): Promise<T> {
  return (output as unknown as { promise(): Promise<T> }).promise();
}

export async function runProgram(options: RunOptions): Promise<RunResult> {
  const projectDir = options.projectDir ?? process.cwd();
  const stackFile = readStackFile(projectDir, options.stack);
  const config = { ...stackFile.config, ...options.config };
  const secrets = { ...stackFile.secrets, ...(options.secrets ?? mockSecrets) };

  await pulumi.runtime.setMocks(mocks, "platform", options.stack, false);
  pulumi.runtime.setAllConfig({ ...config, ...secrets }, Object.keys(secrets));

  // The mock engine passes neither the parent nor the resource options to `newResource`, so read
  // them from each request.
  const records: ResourceRecord[] = [];
  const monitor = pulumi.runtime.getMonitor() as unknown as MockMonitor;
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) =>
    register(req, (err, response) => {
      if (!err && response) {
        const inputs = pulumi.runtime.deserializeProperties(req.getObject()) as Record<
          string,
          unknown
        >;
        const timeouts = req.getCustomtimeouts();
        const aliases = aliasUrns(req, response.getUrn());
        records.push({
          urn: response.getUrn(),
          type: req.getType(),
          name: req.getName(),
          ...(req.getParent() ? { parent: req.getParent() } : {}),
          ...(aliases.length > 0 ? { aliases } : {}),
          inputs: plain(inputs) as Record<string, unknown>,
          ...(req.getRetainondelete() ? { retainOnDelete: true } : {}),
          ...(timeouts && (timeouts.getCreate() || timeouts.getUpdate() || timeouts.getDelete())
            ? {
                customTimeouts: {
                  create: timeouts.getCreate(),
                  update: timeouts.getUpdate(),
                  delete: timeouts.getDelete(),
                },
              }
            : {}),
        });
      }
      callback(err, response);
    });

  const outputs = (options.program ?? program)(options.catalog ?? defaultCatalog);
  const [url, endpoints] = await Promise.all([settle(outputs.url), settle(outputs.endpoints)]);
  // Resources whose outputs nobody reads are still in flight: wait for every registration.
  await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
  return { records: new Records(records), outputs: { url, endpoints } };
}

/**
 * What `build` registers under the same mocks, for a component's own test: the stack file of
 * `stack` supplies the config, and nothing of the program runs.
 */
export async function recordComponents(build: () => void, stack = "dev"): Promise<Records> {
  const run = await runProgram({
    stack,
    program: () => {
      build();
      return { url: pulumi.output(""), endpoints: pulumi.output<Record<string, string>>({}) };
    },
  });
  return run.records;
}
