import { defaultCatalog } from "../../platform/catalog/default.ts";
import { catalog, postgresPools, validateCatalog } from "../../platform/catalog/index.ts";
import { reachability, workloadKey } from "../../platform/catalog/reachability.ts";
import { nameOf } from "../../platform/names.ts";
import { envKey } from "../../platform/runtimeEnv.ts";
import { ordersCanary, scaled } from "../../test/support/catalogVariants.ts";
import { parseCidr } from "./networks.ts";
import { planDocker, POSTGRES_MAX_CONNECTIONS } from "./plan.ts";

// The Docker target's plan, as plain data: no Pulumi, no engine. stacks/docker.test.ts checks
// that the stack builds exactly this, and test/pulumi/dockerLifecycle.test.ts that the engine
// keeps containers apart as it says.

const pool = "172.16.0.0/16";
const plan = planDocker(catalog, pool);
const subnetOf = (p: ReturnType<typeof planDocker>) =>
  new Map(p.networks.map((n) => [n.name, n.subnet]));

describe("the Docker plan", () => {
  it("has one network per pair the statement connects, holding that pair alone", () => {
    const calls = plan.networks.filter((n) => n.purpose === "calls");
    const pairs = new Set(
      reachability(catalog)
        .filter((e) => workloadKey(e.from) !== workloadKey(e.to))
        .map((e) => [nameOf(e.from), nameOf(e.to)].sort().join(" ~ ")),
    );
    expect(calls.map((n) => [...n.members].sort().join(" ~ ")).sort()).toEqual([...pairs].sort());
    expect(calls.every((n) => n.internal)).toBe(true);
  });

  it("gives every workload that uses stores a network with exactly those stores of its domain", () => {
    const stores = plan.networks.filter((n) => n.purpose === "stores");
    const orders = stores.find((n) => n.members[0] === "orders")!;
    expect(orders.members).toEqual(["orders", "business-postgres", "business-kafka"]);
    const tier = stores.find((n) => n.members[0] === "gateway-identity")!;
    expect(tier.members).toEqual(["gateway-identity", "identity-redis", "identity-kafka"]);
    // inference and monitoring use no store: no such network.
    expect(stores.some((n) => n.members[0] === "inference")).toBe(false);
    expect(stores.some((n) => n.members[0] === "monitoring")).toBe(false);
  });

  it("lets only the router's own network out of the host, unless a service says `internet`", () => {
    expect(plan.networks.filter((n) => !n.internal).map((n) => n.members)).toEqual([["router"]]);
    const open = validateCatalog({
      ...defaultCatalog,
      services: {
        ...defaultCatalog.services,
        inference: { ...defaultCatalog.services["inference"]!, internet: true },
      },
    });
    const egress = planDocker(open, pool).networks.filter((n) => n.purpose === "egress");
    expect(egress.map((n) => [n.members, n.internal])).toEqual([[["inference"], false]]);
  });

  it("puts every network on a /27 of its own inside the pool", () => {
    const { base, bits } = parseCidr(pool)!;
    const ranges = plan.networks.map((n) => {
      const parsed = parseCidr(n.subnet)!;
      expect([n.name, parsed.bits]).toEqual([n.name, 27]);
      expect(parsed.base - base).toBeGreaterThanOrEqual(0);
      expect(parsed.base + 32).toBeLessThanOrEqual(base + 2 ** (32 - bits));
      return parsed.base;
    });
    expect(new Set(ranges).size).toBe(ranges.length);
  });

  it("keeps every network's subnet when a service scales or a version is added", () => {
    const before = subnetOf(plan);
    for (const changed of [
      planDocker(scaled("orders", 3), pool),
      planDocker(ordersCanary(), pool),
    ]) {
      const after = subnetOf(changed);
      const kept = [...before].filter(([name, subnet]) => after.get(name) === subnet);
      expect(kept).toHaveLength(before.size);
    }
  });

  it("adds a version to its service's network to the stores, and leaves the stores' networks", () => {
    // A store container whose networks change is replaced: PostgreSQL and Kafka restarted under
    // every service of the domain, for an upgrade of one of them.
    const canary = planDocker(ordersCanary(), pool);
    const orders = canary.networks.find((n) => n.name === "platform-orders--stores")!;
    expect(orders.members).toEqual(["orders", "orders-v2", "business-postgres", "business-kafka"]);
    expect(canary.groups.find((g) => g.name === "orders-v2")!.networks).toContain(orders.name);
    expect(canary.stores).toEqual(plan.stores);
  });

  it("lets two groups share a network only as the statement says, or as versions of one service", () => {
    // A service's versions share their network to the stores (a version added must not replace
    // the stores' containers), so they also reach each other: the one pair the statement lacks.
    const canary = ordersCanary();
    const stores = new Set(
      planDocker(canary, pool).stores.flatMap((d) =>
        Object.keys(d.networks).map((kind) => `${d.domain}-${kind}`),
      ),
    );
    const shared = new Set<string>();
    for (const n of planDocker(canary, pool).networks) {
      const groups = n.members.filter((m) => !stores.has(m)).sort();
      for (const [i, a] of groups.entries())
        for (const b of groups.slice(i + 1)) shared.add(`${a} ~ ${b}`);
    }
    const statement = reachability(canary)
      .filter((e) => workloadKey(e.from) !== workloadKey(e.to))
      .map((e) => [nameOf(e.from), nameOf(e.to)].sort().join(" ~ "));
    expect([...shared].sort()).toEqual([...new Set([...statement, "orders ~ orders-v2"])].sort());
  });

  it("gives every PostgreSQL room for its pools, a limit that no replica or version changes", () => {
    // The business domain's pools outgrew the image's 100 connections once a version ran beside
    // another; the limit is the plan's own, so that a scale-up does not restart the database.
    for (const changed of [
      plan,
      planDocker(scaled("orders", 3), pool),
      planDocker(ordersCanary(), pool),
    ])
      expect(changed.stores.map((d) => d.postgresMaxConnections)).toEqual(
        plan.stores.map(() => POSTGRES_MAX_CONNECTIONS),
      );
    expect(POSTGRES_MAX_CONNECTIONS).toBeGreaterThan(
      postgresPools(ordersCanary(), "business") * 10,
    );
    const crowded = structuredClone(defaultCatalog);
    for (const s of Object.values(crowded.services))
      if (s.domain === "business" && s.uses?.includes("postgres")) s.replicas = 5;
    expect(() => planDocker(validateCatalog(crowded), pool)).toThrow(
      /domain business's PostgreSQL clients hold \d+ pools of 10 connections, more than its 500/,
    );
  });

  it("joins each group to the networks that name it, and runs only the stores someone uses", () => {
    for (const g of plan.groups) {
      const expected = plan.networks.filter((n) => n.members.includes(g.name)).map((n) => n.name);
      expect([g.name, g.networks]).toEqual([g.name, expected]);
      expect(g.networks.length).toBeGreaterThan(0);
    }
    for (const d of plan.stores)
      for (const on of Object.values(d.networks)) expect(on.length).toBeGreaterThan(0);
  });

  it("starts services first, then the tier that verifies keys, then the others, then the router", () => {
    const order = plan.groups.map((g) => g.name);
    expect(order.indexOf("gateway-identity")).toBeLessThan(order.indexOf("gateway-business"));
    expect(order.at(-1)).toBe("router");
    for (const g of plan.groups)
      for (const before of g.after.groups)
        expect([g.name, order.indexOf(before) < order.indexOf(g.name)]).toEqual([g.name, true]);
    const monitoring = plan.groups.find((g) => g.name === "monitoring")!;
    expect(monitoring.secrets).toEqual(["principalSecret", "adminToken"]);
    expect(monitoring.env[envKey.monitorTargets]).toContain("http://router:");
  });

  it("refuses a pool too small for the networks, and a network too big for its subnet", () => {
    expect(() => planDocker(catalog, "10.0.0.0/24")).toThrow(
      /networks need more than the 8 subnets of 10.0.0.0\/24; widen platform:networkPool/,
    );
    expect(() => planDocker(scaled("orders", 28), pool)).toThrow(
      /network platform-\S*orders\S* would hold \d+ containers; a \/27 holds 29/,
    );
  });
});
