import type { RunResult } from "../infra/mock/harness.ts";
import { runProgram } from "../infra/mock/harness.ts";
import { primaryVersion } from "../infra/aws/workloads.ts";
import type { ResourceRecord } from "../infra/mock/records.ts";
import { secretMark } from "../infra/mock/records.ts";
import { catalog, domains, services } from "../infra/catalog/index.ts";
import type { Addresses, DataEndpoints, Env } from "../infra/runtimeEnv.ts";
import { ordersCanary } from "../test/support/catalogVariants.ts";
import {
  entrypoint,
  envKey,
  gatewayEnv,
  IMAGE_DATA_DIR,
  routerEnv,
  serviceEnv,
} from "../infra/runtimeEnv.ts";

// The Docker stack under Pulumi's mocks: what `pulumi up` would create, checked against the
// catalog and against the env contract that the programs read.

const password = "mock-postgres-password-do-not-print";
const secrets = { "platform:postgresPassword": password };
const CONTAINER = "docker:index/container:Container";
const port = catalog.containerPort;

let run: RunResult;
beforeAll(async () => {
  run = await runProgram({ stack: "docker", secrets });
});

const containers = () => run.records.byType(CONTAINER);
const command = (c: ResourceRecord) => (c.inputs["command"] as string[] | undefined) ?? [];
/** A container's plain env (`undefined` when Pulumi holds the whole list as a secret). */
const envOf = (c: ResourceRecord): Env | undefined => {
  const envs = c.inputs["envs"];
  if (envs === secretMark) return undefined;
  return Object.fromEntries(
    ((envs as string[] | undefined) ?? []).map((e) => [
      e.slice(0, e.indexOf("=")),
      e.slice(e.indexOf("=") + 1),
    ]),
  );
};
const plainEnv = (c: ResourceRecord): Env => {
  const env = envOf(c);
  if (!env) throw new Error(`${c.name}: the env is secret; secrets belong in the env file`);
  return env;
};
/** A container's uploaded files: `[secret]` when one of them holds a secret, hiding them all. */
const uploads = (c: ResourceRecord) => c.inputs["uploads"] ?? [];
const aliasOf = (c: ResourceRecord) => {
  const nets = c.inputs["networksAdvanced"] as { aliases?: string[] }[];
  expect(nets).toHaveLength(1);
  expect(nets[0]!.aliases).toHaveLength(1);
  return nets[0]!.aliases![0]!;
};
/** What a container runs: node's last argument (a secret env file may come before it). */
const runs = (program: string) => (c: ResourceRecord) => command(c).at(-1) === entrypoint(program);

const healthTests = (c: ResourceRecord) =>
  (c.inputs["healthcheck"] as { tests?: string[] } | undefined)?.tests ?? [];

const routers = () => containers().filter(runs("router"));
const gateways = (domain: string) =>
  containers().filter((c) => runs("gateway")(c) && plainEnv(c)["DOMAIN"] === domain);
const replicasOf = (service: string) => containers().filter(runs(service));
const urlsOf = (group: ResourceRecord[]) => group.map((c) => `http://${aliasOf(c)}:${port}`);

/** A domain's store containers, told apart by what they run rather than by their names. */
function storesOf(domain: string) {
  const component = run.records.one("platform:docker:DataStores", domain);
  const inside = run.records.childrenOf(component).filter((r) => r.type === CONTAINER);
  const find = (what: string, test: (c: ResourceRecord) => boolean) => {
    const found = inside.filter(test);
    if (found.length !== 1)
      throw new Error(`domain ${domain}: expected one ${what} container, found ${found.length}`);
    return found[0]!;
  };
  return {
    postgres: find("PostgreSQL", (c) => healthTests(c)[1] === "pg_isready"),
    redis: find("Redis", (c) => command(c)[0] === "redis-server"),
    kafka: find("Kafka", (c) => "KAFKA_ADVERTISED_LISTENERS" in (envOf(c) ?? {})),
  };
}

/** Where the recorded stack puts each domain's data, rebuilt from the store containers. */
function recordedData(domain: string): Required<DataEndpoints> {
  const { postgres, redis, kafka } = storesOf(domain);
  // PostgreSQL's env holds its password, so user and database are read from its health check.
  const probe = healthTests(postgres);
  const flag = (f: string) => probe[probe.indexOf(f) + 1];
  return {
    databaseUrl: `postgres://${flag("-U")}@${aliasOf(postgres)}:5432/${flag("-d")}`,
    redisUrl: `redis://${aliasOf(redis)}:6379`,
    kafkaBrokers: plainEnv(kafka)["KAFKA_ADVERTISED_LISTENERS"]!.replace(/^PLAINTEXT:\/\//, ""),
  };
}

/** Addresses rebuilt from the recorded containers: a dropped replica or a wrong alias shows. */
function recordedAddresses(): Addresses {
  // What monitoring must be told: every recorded container, by its own alias.
  const each = (group: ResourceRecord[], at = port) => ({
    replicas: group.map((c) => ({ id: aliasOf(c), url: `http://${aliasOf(c)}:${at}` })),
  });
  return {
    tiers: Object.fromEntries(domains(catalog).map((d) => [d.name, urlsOf(gateways(d.name))])),
    services: Object.fromEntries(
      services(catalog).map((s) => [s.name, urlsOf(replicasOf(s.name))]),
    ),
    replicas: [
      // A router's details and metrics are on its ops port, which it does not publish.
      { kind: "router", group: "router", ...each(routers(), catalog.opsPort) },
      ...domains(catalog).map((d) => ({
        kind: "gateway" as const,
        group: `${d.name}-gateway`,
        domain: d.name,
        ...each(gateways(d.name)),
      })),
      ...services(catalog).map((s) => ({
        kind: "service" as const,
        group: s.name,
        domain: s.domain,
        version: primaryVersion(s),
        ...each(replicasOf(s.name)),
      })),
    ],
  };
}

describe("docker stack", () => {
  it("runs every service, gateway tier and the router with the catalog's replica counts", () => {
    for (const s of services(catalog))
      expect([s.name, replicasOf(s.name).length]).toEqual([s.name, s.replicas]);
    for (const d of domains(catalog)) {
      expect([d.name, gateways(d.name).length]).toEqual([d.name, d.gateway.replicas]);
    }
    expect(routers()).toHaveLength(catalog.router.replicas);
    const stores = domains(catalog).length * 3;
    const programs =
      services(catalog).reduce((n, s) => n + s.replicas, 0) +
      domains(catalog).reduce((n, d) => n + d.gateway.replicas, 0) +
      catalog.router.replicas;
    expect(containers()).toHaveLength(programs + stores);
  });

  it("gives every replica its own network alias on one network", () => {
    const aliases = containers().map(aliasOf);
    expect(new Set(aliases).size).toBe(aliases.length);
    expect(run.records.byType("docker:index/network:Network")).toHaveLength(1);
  });

  it("publishes host ports on the router replicas only, one distinct port each", () => {
    const publishing = containers().filter(
      (c) => ((c.inputs["ports"] as unknown[] | undefined) ?? []).length > 0,
    );
    expect(publishing.map((c) => c.urn).sort()).toEqual(
      routers()
        .map((c) => c.urn)
        .sort(),
    );
    const external = routers().map((c) => {
      const ports = c.inputs["ports"] as { internal: number; external: number }[];
      expect(ports).toHaveLength(1);
      expect(ports[0]!.internal).toBe(port);
      return ports[0]!.external;
    });
    expect(external).toEqual(external.map((_, i) => 8080 + i));
    expect(run.outputs.url).toBe("http://localhost:8080");
  });

  it("sets exactly the environment each program reads, pointing at the recorded replicas and stores", () => {
    const at = recordedAddresses();
    for (const c of routers()) expect(plainEnv(c)).toEqual(routerEnv(catalog, at, port));
    for (const d of domains(catalog)) {
      const { redisUrl, kafkaBrokers } = recordedData(d.name);
      for (const c of gateways(d.name)) {
        expect(plainEnv(c)).toEqual(
          gatewayEnv(catalog, d.name, at, port, "docker", { redisUrl, kafkaBrokers }),
        );
        // The admin token, from a secret file that node loads (stacks/adminToken.test.ts).
        expect(uploads(c)).toBe(secretMark);
      }
    }
    for (const s of services(catalog)) {
      const expected = serviceEnv(
        catalog,
        s.name,
        port,
        recordedData(s.domain),
        primaryVersion(s),
        at,
      );
      for (const c of replicasOf(s.name)) {
        expect(plainEnv(c)).toEqual(expected);
        // A service with a database gets its password from a secret file that node loads, and
        // monitoring the admin token.
        if (s.uses.includes("postgres") || s.name === "monitoring") {
          expect(uploads(c)).toBe(secretMark);
          expect(command(c)).toEqual([expect.stringMatching(/^--env-file=\//), entrypoint(s.name)]);
        } else {
          expect(uploads(c)).toEqual([]);
        }
      }
    }
  });

  it("points chat at the identity tier's replicas for its usage reports to quota (catalog `tierCalls`)", () => {
    const tier = recordedAddresses().tiers["identity"]!;
    expect(tier.length).toBe(catalog.domains["identity"]!.gateway.replicas);
    for (const c of replicasOf("chat"))
      expect(plainEnv(c)[envKey.upstream("quota")]).toBe(tier.join(","));
    // Every tier checks quotas where quota runs: the identity tier at the service, others there.
    for (const c of gateways("business")) expect(plainEnv(c)[envKey.quotaUrl]).toBe(tier.join(","));
  });

  it("gives the replicas of a service that keeps blobs one shared volume as DATA_DIR, and no one else", () => {
    const volumes = run.records.byType("docker:index/volume:Volume");
    for (const s of services(catalog)) {
      const mounts = replicasOf(s.name).map(
        (c) => (c.inputs["volumes"] ?? []) as { volumeName: string; containerPath: string }[],
      );
      if (!s.blobs) {
        expect([s.name, mounts.flat()]).toEqual([s.name, []]);
        continue;
      }
      // Each replica mounts the same volume, so a file one stored is there for the other.
      const names = new Set(mounts.map((m) => m.map((v) => v.volumeName).join()));
      expect([s.name, names.size, mounts[0]]).toEqual([
        s.name,
        1,
        [{ volumeName: expect.any(String), containerPath: IMAGE_DATA_DIR }],
      ]);
      expect(volumes.some((v) => v.name === `${s.name}-data`)).toBe(true);
    }
    expect(services(catalog).some((s) => s.blobs)).toBe(true);
  });

  it("gives every container a health check and the unless-stopped restart policy", () => {
    for (const c of containers()) {
      expect([c.name, healthTests(c)[0]]).toEqual([c.name, "CMD"]);
      expect([c.name, c.inputs["restart"]]).toEqual([c.name, "unless-stopped"]);
    }
    for (const c of [...routers(), ...services(catalog).flatMap((s) => replicasOf(s.name))]) {
      expect(c.inputs["healthcheck"]).toMatchObject({
        tests: expect.arrayContaining([expect.stringContaining("/readyz")]),
      });
    }
  });

  it("runs the programs from the locally built image, with the configured base image", () => {
    const [image, ...others] = run.records.byType("docker:index/image:Image");
    expect(others).toHaveLength(0);
    expect(image!.inputs).toMatchObject({
      skipPush: true,
      build: { args: { NODE_IMAGE: "node:24-bookworm-slim" } },
    });
    const refs = new Set(
      containers()
        .filter((c) => command(c).length === 1)
        .map((c) => c.inputs["image"]),
    );
    expect(refs.size).toBe(1);
    expect([...refs][0]).toMatch(/@sha256:/);
  });

  it("never records a secret in plain text", () => {
    expect(JSON.stringify(run.records.all)).not.toContain(password);
    for (const d of domains(catalog))
      expect(storesOf(d.name).postgres.inputs["envs"]).toBe(secretMark);
  });

  it("runs a canary version as a group of its own, which the gateways split traffic to", async () => {
    const canary = ordersCanary();
    const custom = await runProgram({ stack: "docker", secrets, catalog: canary });
    const all = custom.records.byType(CONTAINER);
    const orders = all.filter(runs("orders"));
    const replicas = canary.services["orders"]!.replicas;
    expect(orders).toHaveLength(2 * replicas);
    const versionOf = (c: ResourceRecord) => plainEnv(c)["SERVICE_VERSION"];
    const v2 = orders.filter((c) => versionOf(c) === "v2").map(aliasOf);
    expect(v2.sort()).toEqual(Array.from({ length: replicas }, (_, i) => `orders-v2-${i + 1}`));
    for (const gateway of all.filter(runs("gateway"))) {
      const env = plainEnv(gateway);
      if (env["DOMAIN"] !== "business") continue;
      expect(env["UPSTREAM_ORDERS_V2"]!.split(",")).toEqual(
        v2.sort().map((alias) => `http://${alias}:${port}`),
      );
    }
  });

  it("takes the router port and the base image from the stack config", async () => {
    const custom = await runProgram({
      stack: "docker",
      secrets,
      config: { "platform:routerPort": "9090", "platform:nodeImage": "local/node:24" },
    });
    const ports = custom.records
      .byType(CONTAINER)
      .flatMap((c) => (c.inputs["ports"] as { external: number }[] | undefined) ?? [])
      .map((p) => p.external);
    expect(ports.sort()).toEqual([9090, 9091]);
    expect(custom.outputs.url).toBe("http://localhost:9090");
    expect(custom.records.byType("docker:index/image:Image")[0]!.inputs).toMatchObject({
      build: { args: { NODE_IMAGE: "local/node:24" } },
    });
  });

  it("refuses a missing database password or a bad port, naming the config key", async () => {
    await expect(runProgram({ stack: "docker", secrets: {} })).rejects.toThrow(
      /platform:postgresPassword is required/,
    );
    await expect(
      runProgram({ stack: "docker", secrets, config: { "platform:routerPort": "80000" } }),
    ).rejects.toThrow(/platform:routerPort must be between 1 and 65535/);
  });
});
