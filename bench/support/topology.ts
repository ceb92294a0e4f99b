import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { catalog } from "../../platform/catalog/index.ts";
import { envKey, type DataEndpoints, type Env } from "../../platform/runtimeEnv.ts";
import { generateKey } from "../../services/auth/keys.ts";
import { freePorts, portAllocator } from "../../stacks/local/ports.ts";
import { Supervisor } from "../../stacks/local/supervisor.ts";
import { localTopology, type ProcessSpec } from "../../stacks/local/topology.ts";

export const ROOT = resolve(import.meta.dirname, "../..");

export interface BenchTopologyArgs {
  /** Names the run's temp dir (data and logs). */
  name: string;
  data: DataEndpoints;
  /** Added to every process's environment. */
  env?: Env;
  /** Default 90 s: on a busy 2-core machine a dozen Node processes are slow to come up. */
  readyTimeoutMs?: number;
}

/**
 * The default topology of the catalog (what `npm start` runs), started under a Supervisor held
 * by the drill itself, so that it can kill, stop, start and restart single replicas.
 */
export class BenchTopology {
  /** The router's public URL. */
  readonly base: string;
  /** The demo key the auth service registers at start. */
  readonly apiKey: string;
  readonly specs: readonly ProcessSpec[];
  readonly supervisor: Supervisor;
  readonly logDir: string;
  private readonly dir: string;

  private constructor(args: {
    base: string;
    apiKey: string;
    specs: ProcessSpec[];
    supervisor: Supervisor;
    dir: string;
  }) {
    this.base = args.base;
    this.apiKey = args.apiKey;
    this.specs = args.specs;
    this.supervisor = args.supervisor;
    this.dir = args.dir;
    this.logDir = join(args.dir, "logs");
  }

  static async start(args: BenchTopologyArgs): Promise<BenchTopology> {
    const dir = mkdtempSync(join(tmpdir(), `bench-${args.name}-`));
    const ports = await freePorts(100);
    const routerPort = ports.shift()!;
    const apiKey = generateKey();
    const specs = localTopology(catalog, {
      routerPort,
      allocatePort: portAllocator(ports),
      data: args.data,
      dataDir: join(dir, "data"),
      demoApiKey: apiKey,
    }).map((s) => ({ ...s, env: { ...s.env, ...args.env } }));
    const supervisor = new Supervisor({ root: ROOT, logDir: join(dir, "logs") });
    const topology = new BenchTopology({
      base: `http://127.0.0.1:${routerPort}`,
      apiKey,
      specs,
      supervisor,
      dir,
    });
    for (const spec of specs) supervisor.start(spec);
    try {
      await supervisor.waitReady(args.readyTimeoutMs ?? 90_000);
    } catch (err) {
      const name = /^(\S+)/.exec((err as Error).message)?.[1];
      if (name) console.error(supervisor.tail(name));
      await topology.stop(true);
      throw err;
    }
    return topology;
  }

  spec(name: string): ProcessSpec {
    const spec = this.specs.find((s) => s.name === name);
    if (!spec) throw new Error(`no process named ${name}`);
    return spec;
  }

  /** The replicas of one service (its v1 and any other version). */
  serviceReplicas(service: string): ProcessSpec[] {
    return this.specs.filter((s) => s.tier === "service" && s.env[envKey.service] === service);
  }

  /** What the topology's gateways sign principals with, for requests straight to a service. */
  principalSecret(): string {
    return this.specs.find((s) => s.tier === "service")!.env[envKey.principalSecret]!;
  }

  /** The gateway replicas of the tier that serves `service`. */
  gatewayReplicas(service: string): ProcessSpec[] {
    const domain = catalog.services[service]!.domain;
    return this.specs.filter((s) => s.tier === "gateway" && s.env[envKey.domain] === domain);
  }

  routerReplicas(): ProcessSpec[] {
    return this.specs.filter((s) => s.tier === "router");
  }

  /**
   * More API keys of the demo user, made as a client would (POST /v1/auth/keys). Load from many
   * simulated clients needs them: one key may send 600 requests a minute (the catalog's default).
   */
  async createKeys(count: number): Promise<string[]> {
    const keys: string[] = [];
    for (let i = 0; i < count; i++) {
      const res = await fetch(`${this.base}/v1/auth/keys`, {
        method: "POST",
        headers: { authorization: `Bearer ${this.apiKey}`, "content-type": "application/json" },
        body: JSON.stringify({ name: `bench-${i}` }),
      });
      if (res.status !== 201)
        throw new Error(`POST /v1/auth/keys: ${res.status} ${await res.text()}`);
      keys.push(((await res.json()) as { key: string }).key);
    }
    return keys;
  }

  /** Stops every process; the logs are kept when asked (a failed run), else the temp dir goes. */
  async stop(keepLogs: boolean): Promise<void> {
    await this.supervisor.stop();
    if (keepLogs) console.log(`logs kept in ${this.logDir}`);
    else rmSync(this.dir, { recursive: true, force: true });
  }
}
