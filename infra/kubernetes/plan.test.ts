import { catalog, services, serviceWithRole } from "../../platform/catalog/index.ts";
import { reachability } from "../../platform/catalog/reachability.ts";
import { nameOf } from "../../platform/names.ts";
import { envKey } from "../../platform/runtimeEnv.ts";
import { ordersCanary } from "../../test/support/catalogVariants.ts";
import { parseKubernetesSettings } from "./config.ts";
import type { KubernetesPlan, WorkloadPlan } from "./plan.ts";
import { planKubernetes } from "./plan.ts";

// The Kubernetes target's plan, as plain data: no Pulumi, no mocks. stacks/kubernetes.test.ts
// checks the manifests the stack builds from it.

const settings = (raw: Record<string, string> = {}) =>
  parseKubernetesSettings({ imageRepository: "registry.example.com/platform/services", ...raw });
const options = { demoApiKey: true };
const plan = planKubernetes(catalog, settings(), options);
const external = planKubernetes(
  catalog,
  settings({ dataStores: "external", externalKafkaAuth: "tls" }),
  { demoApiKey: false },
);
const byName = (p: KubernetesPlan) => new Map(p.workloads.map((w) => [w.name, w]));
const sameLabels = (a: Record<string, string> | undefined, b: Record<string, string>) =>
  JSON.stringify(a) === JSON.stringify(b);
/** The workload a peer selects, or undefined for a peer that is no workload (a store). */
const workloadAt = (
  p: KubernetesPlan,
  peer: { namespace: string; labels?: Record<string, string> },
) => p.workloads.find((w) => w.namespace === peer.namespace && sameLabels(peer.labels, w.labels));

describe("the Kubernetes plan", () => {
  it("runs every service version, tier and the router once, each in its domain's namespace", () => {
    const names = plan.workloads.map((w) => w.name);
    expect(new Set(names).size).toBe(names.length);
    const canary = byName(planKubernetes(ordersCanary(), settings(), { demoApiKey: false }));
    expect(canary.get("orders-v2")?.namespace).toBe(`${catalog.name}-business`);
    expect(byName(plan).get("router")!.namespace).toBe(plan.routingNamespace);
    expect(plan.namespaces[0]).toBe(plan.routingNamespace);
    for (const s of services(catalog))
      expect(byName(plan).get(s.name)?.namespace).toBe(`${catalog.name}-${s.domain}`);
  });

  it("opens exactly the statement's connections between workloads, on their ports", () => {
    const opened = new Set<string>();
    for (const w of plan.workloads) {
      for (const peer of w.allowTo) {
        const to = workloadAt(plan, peer);
        if (to) opened.add(`${w.name} -> ${to.name}:${peer.port}`);
      }
    }
    const admitted = new Set<string>();
    for (const w of plan.workloads) {
      for (const peer of w.allowFrom)
        admitted.add(`${workloadAt(plan, peer)?.name ?? peer.namespace} -> ${w.name}`);
      for (const peer of w.ops?.allowFrom ?? [])
        admitted.add(`${workloadAt(plan, peer)!.name} -> ${w.name}:ops`);
    }
    const edges = reachability(catalog);
    const port = (e: (typeof edges)[number]) =>
      e.port === "ops" ? catalog.opsPort : catalog.containerPort;
    expect([...opened].sort()).toEqual(
      edges.map((e) => `${nameOf(e.from)} -> ${nameOf(e.to)}:${port(e)}`).sort(),
    );
    expect([...admitted].sort()).toEqual(
      [
        "ingress-nginx -> router",
        ...edges.map(
          (e) => `${nameOf(e.from)} -> ${nameOf(e.to)}${e.port === "ops" ? ":ops" : ""}`,
        ),
      ].sort(),
    );
  });

  it("lets into each store exactly the workloads that send to it", () => {
    for (const d of plan.domains) {
      for (const [kind, clients] of Object.entries(d.stores!.clients)) {
        const senders = plan.workloads.filter((w) =>
          w.allowTo.some(
            (p) =>
              p.namespace === d.namespace &&
              p.labels?.["app.kubernetes.io/name"] === `${d.domain}-${kind}`,
          ),
        );
        expect(clients!.map((c) => workloadAt(plan, c)!.name).sort()).toEqual(
          senders.map((w) => w.name).sort(),
        );
      }
    }
  });

  it("has each workload read only Secrets of its namespace that exist, and wait for them", () => {
    for (const p of [plan, external]) {
      const secrets = new Map(p.domains.flatMap((d) => d.secrets.map((s) => [s.resourceName, s])));
      for (const w of p.workloads) {
        for (const [env, ref] of Object.entries(w.secretEnv)) {
          const name = `${w.namespace}-${ref.secretName}`;
          expect([w.name, env, Object.keys(secrets.get(name)?.data ?? {})]).toEqual([
            w.name,
            env,
            expect.arrayContaining([ref.key]),
          ]);
          expect(w.waitsFor.secrets).toContain(name);
        }
      }
    }
  });

  it("keeps secrets out of the plain env, and hands the demo key and admin token only where needed", () => {
    const secretKeys: string[] = [
      envKey.adminToken,
      envKey.principalSecret,
      envKey.databasePassword,
    ];
    for (const w of [...plan.workloads, ...external.workloads])
      expect(Object.keys(w.env).filter((k) => secretKeys.includes(k))).toEqual([]);
    const readers = (p: KubernetesPlan, key: string) =>
      p.workloads.filter((w) => key in w.secretEnv).map((w) => w.name);
    const keys = serviceWithRole(catalog, "api-keys")!.name;
    const monitoring = serviceWithRole(catalog, "monitoring")!.name;
    expect(readers(plan, envKey.demoApiKey)).toEqual([keys]);
    expect(readers(external, envKey.demoApiKey)).toEqual([]);
    expect(readers(plan, envKey.adminToken).sort()).toEqual(
      [monitoring, ...plan.domains.map((d) => `gateway-${d.domain}`)].sort(),
    );
  });

  it("points in-cluster clients at their own domain's stores by DNS name", () => {
    const orders = byName(plan).get("orders")!;
    expect(orders.env[envKey.databaseUrl]).toBe(
      `postgres://platform@business-postgres-0.business-postgres.${orders.namespace}.svc.cluster.local:5432/business`,
    );
    expect(orders.waitsFor.storesOf).toBe("business");
    expect(orders.allowExternalPorts).toEqual([]);
  });

  it("with external stores, reads every endpoint from the Secret and opens only their ports", () => {
    expect(external.domains.every((d) => d.stores === undefined)).toBe(true);
    const orders: WorkloadPlan = byName(external).get("orders")!;
    expect(orders.env[envKey.databaseUrl]).toBeUndefined();
    expect(orders.secretEnv[envKey.databaseUrl]).toEqual({
      secretName: "stores",
      key: envKey.databaseUrl,
    });
    // Kafka on its TLS listener, as the settings say, and the clients told so.
    expect([...orders.allowExternalPorts].sort()).toEqual([5432, 9094]);
    expect(orders.env[envKey.kafkaAuth]).toBe("tls");
    const business = external.domains.find((d) => d.domain === "business")!;
    const stores = business.secrets.find((s) => s.name === "stores")!;
    expect(stores.data[envKey.databaseUrl]).toEqual({
      of: "externalEndpoint",
      domain: "business",
      endpoint: "databaseUrl",
    });
    expect(orders.waitsFor.storesOf).toBeUndefined();
  });

  it("gives only a service that keeps blobs a shared claim", () => {
    const claims = plan.workloads.filter((w) => w.sharedClaim).map((w) => w.name);
    expect(claims).toEqual(
      services(catalog)
        .filter((s) => s.blobs)
        .map((s) => s.name),
    );
    expect(byName(plan).get(claims[0]!)!.sharedClaim!.gb).toBe(10);
  });

  it("scales a queue-scaled service on its queue only where KEDA's namespace is named", () => {
    expect(plan.workloads.filter((w) => w.queueScaling)).toEqual([]);
    const keda = byName(planKubernetes(catalog, settings({ kedaNamespace: "keda" }), options));
    const queued = services(catalog).filter((s) => s.queueScaling);
    expect(queued.length).toBeGreaterThan(0);
    for (const s of services(catalog)) {
      const w = keda.get(s.name)!;
      if (!s.queueScaling) {
        expect([w.queueScaling, w.ops, w.env[envKey.opsPort]]).toEqual([
          undefined,
          undefined,
          undefined,
        ]);
        continue;
      }
      // KEDA reads the gauge from the ops port, which the service opens and only KEDA reaches.
      expect(w.queueScaling).toEqual({
        metricsUrl: `http://${w.name}.${w.namespace}.svc.cluster.local:${catalog.opsPort}/metrics`,
        metric: s.queueScaling.metric,
        perReplica: s.queueScaling.perReplica,
      });
      expect(w.env[envKey.opsPort]).toBe(String(catalog.opsPort));
      expect(w.ops).toEqual({
        port: catalog.opsPort,
        allowFrom: [{ namespace: "keda", labels: { "app.kubernetes.io/name": "keda-operator" } }],
      });
    }
    expect(() => settings({ kedaNamespace: "Keda!" })).toThrow(
      "platform:kedaNamespace must be a namespace name such as keda",
    );
  });

  it("puts the Ingress before the router with TLS only for a host", () => {
    expect(plan.ingress.tlsSecret).toBeUndefined();
    const tls = planKubernetes(
      catalog,
      settings({ ingressHost: "api.example.com", ingressTlsSecret: "api-tls" }),
      { demoApiKey: false },
    );
    expect([tls.ingress.host, tls.ingress.tlsSecret]).toEqual(["api.example.com", "api-tls"]);
    expect(plan.ingress.annotations["nginx.ingress.kubernetes.io/proxy-body-size"]).toMatch(
      /^\d+$/,
    );
  });
});
