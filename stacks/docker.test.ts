import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import type { RunResult } from "../test/plan/harness.ts";
import { runProgram } from "../test/plan/harness.ts";
import { primaryVersion } from "../infra/aws/workloads.ts";
import type { ResourceRecord } from "../test/plan/records.ts";
import { mockRandomPassword } from "../test/plan/mocks.ts";
import { secretMark } from "../test/plan/records.ts";
import { catalog, domains, services } from "../platform/catalog/index.ts";
import type { Addresses, DataEndpoints, Env } from "../platform/runtimeEnv.ts";
import { ordersCanary, ordersVersions, scaled } from "../test/support/catalogVariants.ts";
import {
  entrypoint,
  envKey,
  gatewayEnv,
  IMAGE_DATA_DIR,
  routerEnv,
  serviceEnv,
} from "../platform/runtimeEnv.ts";

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
/** A container's one alias, the same on every network it joins. */
const aliasOf = (c: ResourceRecord) => {
  const nets = c.inputs["networksAdvanced"] as { aliases?: string[] }[];
  expect(nets.length).toBeGreaterThan(0);
  const aliases = new Set(nets.flatMap((n) => n.aliases ?? []));
  expect(aliases.size).toBe(1);
  return [...aliases][0]!;
};
/** What a container runs: node's last argument (a secret env file may come before it). */
const runs = (program: string) => (c: ResourceRecord) => command(c).at(-1) === entrypoint(program);

const healthTests = (c: ResourceRecord) =>
  (c.inputs["healthcheck"] as { tests?: string[] } | undefined)?.tests ?? [];

const routers = () => containers().filter(runs("router"));
const gateways = (domain: string) =>
  containers().filter((c) => runs("gateway")(c) && plainEnv(c)["DOMAIN"] === domain);
const replicasOf = (service: string) => containers().filter(runs(service));
/** The one URL a group's callers are given: its alias, which Docker's DNS answers per replica. */
const urlsOf = (group: ResourceRecord[]) => [
  ...new Set(group.map((c) => `http://${aliasOf(c)}:${port}`)),
];

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
  // What monitoring must be told: the name that resolves to every recorded container of a group.
  const each = (group: ResourceRecord[], at = port) => {
    const urls = [...new Set(group.map((c) => `http://${aliasOf(c)}:${at}`))];
    expect(urls).toHaveLength(1);
    return { dns: urls[0]! };
  };
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

  it("puts the replicas of a group under one network alias that no other group or store has", () => {
    const groups = [
      routers(),
      ...domains(catalog).map((d) => gateways(d.name)),
      ...services(catalog).map((s) => replicasOf(s.name)),
      ...domains(catalog).flatMap((d) => Object.values(storesOf(d.name)).map((c) => [c])),
    ];
    const aliases = groups.map((group) => {
      expect(new Set(group.map(aliasOf)).size).toBe(1);
      return aliasOf(group[0]!);
    });
    expect(new Set(aliases).size).toBe(aliases.length);
    expect(aliases).toEqual(expect.arrayContaining(["router", "gateway-business", "orders"]));
  });

  it("declares each planned network with its own subnet, internal but the router's public one", () => {
    const networks = run.records.byType("docker:index/network:Network");
    const joined = new Set(
      containers().flatMap((c) =>
        (c.inputs["networksAdvanced"] as { name: string }[]).map((n) => n.name),
      ),
    );
    expect(networks.map((n) => n.inputs["name"]).sort()).toEqual([...joined].sort());
    const subnets = networks.map(
      (n) => (n.inputs["ipamConfigs"] as { subnet: string }[])[0]!.subnet,
    );
    expect(new Set(subnets).size).toBe(networks.length);
    expect(networks.filter((n) => n.inputs["internal"] !== true).map((n) => n.name)).toEqual([
      "platform-router--public",
    ]);
    // Only the router's containers are on the network that can publish ports.
    const onPublic = containers().filter((c) =>
      (c.inputs["networksAdvanced"] as { name: string }[]).some(
        (n) => n.name === "platform-router--public",
      ),
    );
    expect(onPublic.map((c) => c.urn).sort()).toEqual(
      routers()
        .map((c) => c.urn)
        .sort(),
    );
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
        // Every service gets the principal secret (and its database password, monitoring the
        // admin token) from a secret file that node loads (stacks/adminToken.test.ts).
        expect(uploads(c)).toBe(secretMark);
        expect(command(c)).toEqual([expect.stringMatching(/^--env-file=\//), entrypoint(s.name)]);
      }
    }
  });

  it("points chat at the identity tier's replicas for its usage reports to quota (catalog `tierCalls`)", () => {
    const tier = recordedAddresses().tiers["identity"]!;
    expect(tier).toEqual([`http://gateway-identity:${port}`]);
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

  it("runs the programs from the locally built image (render from its media variant), with the configured base image", () => {
    const [image, media, ...others] = run.records.byType("docker:index/image:Image");
    expect(others).toHaveLength(0);
    for (const built of [image!, media!])
      expect(built.inputs).toMatchObject({
        skipPush: true,
        build: { args: { NODE_IMAGE: "node:24-bookworm-slim" } },
      });
    expect((image!.inputs["build"] as { target?: string }).target).toBeUndefined();
    expect(media!.inputs).toMatchObject({
      imageName: "platform/media:local",
      build: { target: "media" },
    });
    const refs = new Map<string, Set<unknown>>();
    for (const c of containers().filter((c) => command(c).at(-1)?.endsWith("/main.ts"))) {
      const variant = command(c).at(-1) === entrypoint("render") ? "media" : "services";
      refs.set(variant, (refs.get(variant) ?? new Set()).add(c.inputs["image"]));
    }
    expect([...refs.get("services")!]).toEqual([
      expect.stringMatching(/^platform\/services@sha256:/),
    ]);
    expect([...refs.get("media")!]).toEqual([expect.stringMatching(/^platform\/media@sha256:/)]);
  });

  it("never records a secret in plain text", () => {
    expect(JSON.stringify(run.records.all)).not.toContain(password);
    for (const d of domains(catalog))
      expect(storesOf(d.name).postgres.inputs["envs"]).toBe(secretMark);
  });

  it("scales a service by adding its containers, leaving every other resource as it was", async () => {
    // The processes get the catalog without its sizing (platform/catalog/runtime.ts), and callers
    // find replicas by DNS: a third orders replica changes no other container's inputs.
    const third = await runProgram({ stack: "docker", secrets, catalog: scaled("orders", 3) });
    expect(third.records.changedSince(run.records)).toEqual([`create ${CONTAINER} orders-3`]);
  });

  it("runs a canary version as a group of its own, which the gateways split traffic to", async () => {
    const canary = ordersCanary();
    const custom = await runProgram({ stack: "docker", secrets, catalog: canary });
    const all = custom.records.byType(CONTAINER);
    const orders = all.filter(runs("orders"));
    const replicas = canary.services["orders"]!.replicas;
    expect(orders).toHaveLength(2 * replicas);
    const versionOf = (c: ResourceRecord) => plainEnv(c)["SERVICE_VERSION"];
    const v2 = orders.filter((c) => versionOf(c) === "v2");
    expect(v2.map((c) => c.name).sort()).toEqual(
      Array.from({ length: replicas }, (_, i) => `orders-v2-${i + 1}`),
    );
    expect(new Set(v2.map(aliasOf))).toEqual(new Set(["orders-v2"]));
    for (const gateway of all.filter(runs("gateway"))) {
      const env = plainEnv(gateway);
      if (env["DOMAIN"] !== "business") continue;
      expect(env["UPSTREAM_ORDERS_V2"]).toBe(`http://orders-v2:${port}`);
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

  it("generates the database password when none is set, and keeps it secret", async () => {
    const fresh = await runProgram({ stack: "docker", secrets: {} });
    const generated = fresh.records.one(
      "random:index/randomPassword:RandomPassword",
      "platform-postgres-password",
    );
    expect(generated.inputs).toMatchObject({ length: 32, special: false });
    for (const d of domains(catalog)) {
      const postgres = fresh.records
        .childrenOf(fresh.records.one("platform:docker:DataStores", d.name))
        .find((c) => c.type === CONTAINER && healthTests(c)[1] === "pg_isready")!;
      expect(postgres.inputs["envs"]).toBe(secretMark);
    }
    expect(JSON.stringify(fresh.records.all)).not.toContain(mockRandomPassword);
  });

  it("takes each store's image from the stack config, the official images by default", async () => {
    const images = (r: RunResult) =>
      new Set(
        r.records.byType("docker:index/remoteImage:RemoteImage").map((i) => i.inputs["name"]),
      );
    expect(images(run)).toEqual(new Set(["redis:7", "postgres:16", "apache/kafka:3.9.0"]));
    const custom = await runProgram({
      stack: "docker",
      secrets,
      config: {
        "platform:redisImage": "local/redis:standin",
        "platform:postgresImage": "local/postgres:standin",
        "platform:kafkaImage": "local/kafka:standin",
      },
    });
    expect(images(custom)).toEqual(
      new Set(["local/redis:standin", "local/postgres:standin", "local/kafka:standin"]),
    );
  });

  it("gives a version's own settings to its containers alone, and refuses one that rewires the platform", async () => {
    const withEnv = await runProgram({
      stack: "docker",
      secrets,
      catalog: ordersVersions([
        { name: "v1", weight: 100 },
        { name: "v2", weight: 0, env: { FAULT_ERROR_RATE: "1" } },
      ]),
    });
    const envOf = (name: string) =>
      (
        (withEnv.records.one("docker:index/container:Container", name).inputs["envs"] ??
          []) as string[]
      ).filter((e) => e.startsWith("FAULT_ERROR_RATE="));
    expect([envOf("orders-1"), envOf("orders-v2-1")]).toEqual([[], ["FAULT_ERROR_RATE=1"]]);
    await expect(
      runProgram({
        stack: "docker",
        secrets,
        catalog: ordersVersions([{ name: "v1", weight: 100, env: { DATABASE_URL: "x" } }]),
      }),
    ).rejects.toThrow("catalog: orders v1 env sets DATABASE_URL, which the platform sets itself");
  });

  it("builds a version with a source from its commit's tree, tagged with the commit, once", async () => {
    const head = execFileSync("git", ["rev-parse", "HEAD"], { encoding: "utf8" }).trim();
    const sourced = await runProgram({
      stack: "docker",
      secrets,
      catalog: ordersVersions([
        { name: "v1", weight: 100 },
        { name: "v2", weight: 0, source: { ref: "HEAD" } },
      ]),
    });
    const images = sourced.records.byType("docker:index/image:Image");
    const own = images.filter((i) => i.name === "platform-services-HEAD");
    expect(own).toHaveLength(1);
    expect(own[0]!.inputs).toMatchObject({
      imageName: `platform/services:${head.slice(0, 12)}`,
      build: { context: `.run/sources/${head}`, args: { NODE_IMAGE: "node:24-bookworm-slim" } },
    });
    expect(existsSync(`.run/sources/${head}/services/orders/main.ts`)).toBe(true);
    const imageOf = (name: string) =>
      sourced.records.one("docker:index/container:Container", name).inputs["image"];
    expect(imageOf("orders-v2-1")).toMatch(new RegExp(`^platform/services@sha256:`));
    expect(imageOf("orders-v2-1")).not.toEqual(imageOf("orders-1"));
    expect(imageOf("orders-v2-2")).toEqual(imageOf("orders-v2-1"));
    expect(imageOf("orders-1")).toEqual(imageOf("articles-1"));
  });

  it("refuses a plain-text or short database password, a bad port and a bad network pool, naming the config key", async () => {
    await expect(
      runProgram({
        stack: "docker",
        secrets: {},
        config: { "platform:postgresPassword": password },
      }),
    ).rejects.toThrow(
      /platform:postgresPassword is a secret: set it with `pulumi config set --secret/,
    );
    await expect(
      runProgram({ stack: "docker", secrets: { "platform:postgresPassword": "short" } }),
    ).rejects.toThrow(/platform:postgresPassword must be at least 12 characters/);
    await expect(
      runProgram({ stack: "docker", secrets, config: { "platform:routerPort": "80000" } }),
    ).rejects.toThrow(/platform:routerPort must be between 1 and 65535/);
    await expect(
      runProgram({ stack: "docker", secrets, config: { "platform:networkPool": "10.1.2.0/28" } }),
    ).rejects.toThrow(/platform:networkPool must be an IPv4 CIDR of \/24 or wider/);
  });
});
