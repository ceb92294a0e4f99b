import { catalog, domains, services } from "../platform/catalog/index.ts";
import { reachability, workloadKey, type Workload } from "../platform/catalog/reachability.ts";
import { domainNamespace, routingNamespace } from "../infra/kubernetes/topology.ts";
import { runProgram, type RunResult } from "../test/plan/harness.ts";
import { mockId } from "../test/plan/records.ts";
import { nameOf, workloadName } from "../platform/names.ts";
import { gatewayStores } from "../platform/catalog/index.ts";
import { storeAliases } from "../components/docker/dataStores.ts";

// Who may connect to whom, as the AWS, Kubernetes and Docker graphs realise it, against the one
// statement of it (platform/catalog/reachability.ts): every edge is open, and nothing else between
// the platform's workloads is (issue #15). Connections to data stores and AWS endpoints are each
// target's own and not compared here.

const secrets = {
  "platform:postgresPassword": "mock-postgres-password-do-not-print",
  "platform:demoApiKey": "sk-mock-demo-key-do-not-print-0123456789",
};
let aws: RunResult;
let k8s: RunResult;
let dockerRun: RunResult;
beforeAll(async () => {
  aws = await runProgram({ stack: "dev" });
  k8s = await runProgram({ stack: "k8s", secrets });
  dockerRun = await runProgram({ stack: "docker", secrets });
});

/** Every workload of the catalog, as each target names it. */
function workloads(): Workload[] {
  return [
    { kind: "router" },
    ...domains(catalog).map((d): Workload => ({ kind: "tier", domain: d.name })),
    ...services(catalog).flatMap((s) =>
      s.versions.map((v): Workload => ({ kind: "service", service: s.name, version: v.name })),
    ),
  ];
}

const edgeKey = (from: Workload, to: Workload, port: string) =>
  `${workloadKey(from)} -> ${workloadKey(to)} :${port}`;
const expected = (keep: (from: Workload, to: Workload) => boolean = () => true) =>
  reachability(catalog)
    .filter((e) => keep(e.from, e.to))
    .map((e) => edgeKey(e.from, e.to, e.port))
    .sort();

test("the statement: the router reaches every tier, monitoring every replica, and no service the router", () => {
  const edges = reachability(catalog);
  expect(edges.filter((e) => e.to.kind === "router").map((e) => e.reasons)).toEqual(
    edges
      .filter((e) => e.reasons.includes("scrapes") && e.to.kind === "router")
      .map(() => ["scrapes"]),
  );
  expect(edges.some((e) => e.from.kind === "router" && e.to.kind === "service")).toBe(false);
  // A tier that hosts neither keys nor quotas verifies and checks at the ones that do, in one edge.
  const business = edges.find(
    (e) => workloadKey(e.from) === "tier:business" && workloadKey(e.to) === "tier:identity",
  );
  expect(business?.reasons).toEqual(["verifies-keys", "checks-quotas"]);
});

test("AWS: security groups admit exactly these connections (the ALB is the router)", () => {
  // Each workload's own security group: `<prefix>-<label>-sg` (ServiceGroup), the ALB's
  // `<prefix>-sg` (RoutingAlb).
  const groupName = (w: Workload) =>
    w.kind === "router"
      ? `${catalog.name}-sg`
      : w.kind === "tier"
        ? `${catalog.name}-gw-${w.domain}-sg`
        : `${catalog.name}-${workloadName.service(w.service, w.version)}-sg`;
  const byGroupId = new Map(
    workloads().map((w) => [
      mockId({ type: "aws:ec2/securityGroup:SecurityGroup", name: groupName(w) }),
      w,
    ]),
  );
  const realised = aws.records
    .byType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    .flatMap((rule) => {
      const from = byGroupId.get(String(rule.inputs["referencedSecurityGroupId"]));
      const to = byGroupId.get(String(rule.inputs["securityGroupId"]));
      if (!from || !to) return [];
      expect(rule.inputs["fromPort"]).toBe(catalog.containerPort);
      return [edgeKey(from, to, "container")];
    })
    .sort();
  // On AWS the router is the ALB: monitoring has no router process to scrape.
  expect(realised).toEqual(expected((_, to) => to.kind !== "router"));
});

test("Kubernetes: network policies admit and send exactly these connections", () => {
  const labelsOf = (w: Workload) =>
    w.kind === "router"
      ? { namespace: routingNamespace(catalog), name: "router" }
      : w.kind === "tier"
        ? { namespace: domainNamespace(catalog, w.domain), name: workloadName.tier(w.domain) }
        : {
            namespace: domainNamespace(catalog, catalog.services[w.service]!.domain),
            name: workloadName.service(w.service, w.version),
          };
  const byPeer = new Map(
    workloads().map((w) => [`${labelsOf(w).namespace}/${labelsOf(w).name}`, w]),
  );
  interface Peer {
    namespaceSelector?: { matchLabels: Record<string, string> };
    podSelector?: { matchLabels: Record<string, string> };
  }
  interface Rule {
    from?: Peer[];
    to?: Peer[];
    ports: { port: number }[];
  }
  const peerOf = (p: Peer) =>
    byPeer.get(
      `${p.namespaceSelector?.matchLabels["kubernetes.io/metadata.name"]}/${p.podSelector?.matchLabels["app.kubernetes.io/name"]}`,
    );
  const portName = (port: number) => (port === catalog.opsPort ? "ops" : "container");
  const ingress: string[] = [];
  const egress: string[] = [];
  for (const policy of k8s.records.byType("kubernetes:networking.k8s.io/v1:NetworkPolicy")) {
    const spec = policy.inputs["spec"] as {
      podSelector: { matchLabels?: Record<string, string> };
      ingress?: Rule[];
      egress?: Rule[];
    };
    const namespace = (policy.inputs["metadata"] as { namespace: string }).namespace;
    const self = byPeer.get(
      `${namespace}/${spec.podSelector.matchLabels?.["app.kubernetes.io/name"]}`,
    );
    if (!self) continue;
    for (const rule of spec.ingress ?? [])
      for (const p of rule.from ?? [])
        for (const { port } of rule.ports) {
          const from = peerOf(p);
          if (from) ingress.push(edgeKey(from, self, portName(port)));
        }
    for (const rule of spec.egress ?? [])
      for (const p of rule.to ?? [])
        for (const { port } of rule.ports) {
          const to = peerOf(p);
          if (to) egress.push(edgeKey(self, to, portName(port)));
        }
  }
  expect(ingress.sort()).toEqual(expected());
  expect(egress.sort()).toEqual(expected());
});

test("AWS: each task is handed the addresses of its own connections only (the env contract)", () => {
  const byLabel = new Map(
    workloads().flatMap((w): [string, Workload][] =>
      w.kind === "tier"
        ? [[workloadName.tier(w.domain), w]]
        : w.kind === "service"
          ? [[workloadName.service(w.service, w.version), w]]
          : [],
    ),
  );
  const allowed = new Set(reachability(catalog).map((e) => edgeKey(e.from, e.to, e.port)));
  const handed: string[] = [];
  for (const td of aws.records.byType("aws:ecs/taskDefinition:TaskDefinition")) {
    const label = String(td.inputs["family"]).replace(`${catalog.name}-`, "").replace(/-dev$/, "");
    const self = byLabel.get(label.startsWith("gw-") ? workloadName.tier(label.slice(3)) : label);
    if (!self) continue;
    const [container] = JSON.parse(String(td.inputs["containerDefinitions"])) as {
      environment: { name: string; value: string }[];
    }[];
    for (const { value } of container!.environment) {
      // Every address of the platform's own workloads: `http://<label>.<namespace>:<port>`.
      for (const [, host] of value.matchAll(/http:\/\/([a-z0-9-]+)\.[a-z0-9.-]+:\d+/g)) {
        const peer = byLabel.get(host!);
        if (peer) handed.push(edgeKey(self, peer, "container"));
      }
    }
  }
  expect(handed.length).toBeGreaterThan(10);
  expect(handed.filter((h) => !allowed.has(h))).toEqual([]);
});

test("Docker: two groups share a network exactly when the statement connects them", () => {
  // A Docker network lets its members reach each other both ways, on every port: the target
  // realises the statement's pairs, not their direction or port (infra/docker/networks.ts).
  const byAlias = new Map(workloads().map((w) => [nameOf(w), w]));
  const members = new Map<string, Set<string>>();
  for (const c of dockerRun.records.byType("docker:index/container:Container")) {
    for (const n of c.inputs["networksAdvanced"] as { name: string; aliases: string[] }[]) {
      const w = byAlias.get(n.aliases[0]!);
      if (w) members.set(n.name, (members.get(n.name) ?? new Set()).add(workloadKey(w)));
    }
  }
  const shared = new Set<string>();
  for (const keys of members.values())
    for (const a of keys) for (const b of keys) if (a < b) shared.add(`${a} ~ ${b}`);
  const pairs = new Set(
    reachability(catalog)
      .map((e) => [workloadKey(e.from), workloadKey(e.to)].sort())
      .filter(([a, b]) => a !== b)
      .map(([a, b]) => `${a} ~ ${b}`),
  );
  expect([...shared].sort()).toEqual([...pairs].sort());
});

test("Docker: a workload shares a network with its own domain's stores that it uses, and no other", () => {
  const stores = new Map(
    domains(catalog).flatMap((d) =>
      (["postgres", "redis", "kafka"] as const).map(
        (k) => [storeAliases(d.name)[k], { domain: d.name, kind: k }] as const,
      ),
    ),
  );
  const uses = (w: Workload) =>
    w.kind === "tier"
      ? { domain: w.domain, kinds: new Set<string>(gatewayStores) }
      : w.kind === "service"
        ? {
            domain: catalog.services[w.service]!.domain,
            kinds: new Set<string>(catalog.services[w.service]!.uses),
          }
        : { domain: "", kinds: new Set<string>() };
  const byAlias = new Map(workloads().map((w) => [nameOf(w), w]));
  const networks = new Map<string, string[]>();
  for (const c of dockerRun.records.byType("docker:index/container:Container"))
    for (const n of c.inputs["networksAdvanced"] as { name: string; aliases: string[] }[])
      networks.set(n.name, [...(networks.get(n.name) ?? []), n.aliases[0]!]);
  const reached: string[] = [];
  const wanted: string[] = [];
  for (const aliases of networks.values())
    for (const a of new Set(aliases))
      for (const b of new Set(aliases)) {
        const w = byAlias.get(a);
        const store = stores.get(b);
        if (w && store) reached.push(`${a} -> ${b}`);
      }
  for (const w of workloads()) {
    const u = uses(w);
    for (const [alias, store] of stores)
      if (store.domain === u.domain && u.kinds.has(store.kind))
        wanted.push(`${nameOf(w)} -> ${alias}`);
  }
  expect([...new Set(reached)].sort()).toEqual(wanted.sort());
});
