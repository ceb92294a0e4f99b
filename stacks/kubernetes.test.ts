import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultCatalog } from "../platform/catalog/default.ts";
import {
  catalog,
  domains,
  serviceWithRole,
  services,
  validateCatalog,
} from "../platform/catalog/index.ts";
import { manifestsOf, toYaml } from "../test/plan/manifests.ts";
import {
  clusterAddresses,
  domainNamespace,
  routingNamespace,
  serviceWorkloads,
} from "../infra/kubernetes/topology.ts";
import type { RunResult } from "../test/plan/harness.ts";
import { runProgram } from "../test/plan/harness.ts";
import { ordersVersions, scaled } from "../test/support/catalogVariants.ts";
import type { ResourceRecord } from "../test/plan/records.ts";
import { secretMark } from "../test/plan/records.ts";
import type { DataEndpoints } from "../platform/runtimeEnv.ts";
import {
  entrypoint,
  gatewayEnv,
  IMAGE_DATA_DIR,
  routerEnv,
  serviceEnv,
} from "../platform/runtimeEnv.ts";
import { callerRoles, gatewayStores } from "../platform/catalog/index.ts";
import { workloadName } from "../platform/names.ts";

/** The service of role `monitoring` in the default catalog. */
const MONITORING_SERVICE = serviceWithRole(catalog, "monitoring")!.name;

// The Kubernetes stack under Pulumi's mocks: what `pulumi up -s k8s` would create, checked
// against the catalog, the env contract and the Kubernetes schemas.

const password = "mock-postgres-password-do-not-print";
const demoKey = "sk-mock-demo-key-do-not-print-0123456789";
const secrets = { "platform:postgresPassword": password, "platform:demoApiKey": demoKey };
const port = catalog.containerPort;

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const STATEFULSET = "kubernetes:apps/v1:StatefulSet";
const POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy";
const INGRESS = "kubernetes:networking.k8s.io/v1:Ingress";

let run: RunResult;
beforeAll(async () => {
  run = await runProgram({ stack: "k8s", secrets });
});

type Labels = Record<string, string>;
interface Env {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface Container {
  image: string;
  args?: string[];
  env?: Env[];
  readinessProbe?: { httpGet?: { path: string; port: number } };
  livenessProbe?: { httpGet?: { path: string; port: number } };
  securityContext?: Record<string, unknown>;
  resources?: { requests?: Labels; limits?: Labels };
}
interface PodSpec {
  containers: Container[];
  securityContext?: Record<string, unknown>;
  topologySpreadConstraints?: {
    topologyKey: string;
    whenUnsatisfiable: string;
    labelSelector: { matchLabels: Labels };
  }[];
}
interface Meta {
  name: string;
  namespace: string;
  labels?: Labels;
  annotations?: Labels;
}
const meta = (r: ResourceRecord) => r.inputs["metadata"] as Meta;
const spec = <T>(r: ResourceRecord) => r.inputs["spec"] as T;
const podSpec = (r: ResourceRecord) =>
  spec<{ template: { spec: PodSpec; metadata: { labels: Labels } } }>(r).template;

const deployments = () => run.records.byType(DEPLOYMENT);
const deployment = (namespace: string, name: string) => {
  const found = deployments().filter(
    (d) => meta(d).namespace === namespace && meta(d).name === name,
  );
  if (found.length !== 1) throw new Error(`expected one Deployment ${namespace}/${name}`);
  return found[0]!;
};
const container = (r: ResourceRecord) => podSpec(r).spec.containers[0]!;

/** Every workload the catalog asks for: namespace, name, replicas, program and expected env. */
function expectedWorkloads(data: (domain: string) => DataEndpoints) {
  const at = clusterAddresses(catalog);
  const onlyGatewayStores = (e: DataEndpoints): DataEndpoints => ({
    redisUrl: gatewayStores.has("redis") ? e.redisUrl : undefined,
    kafkaBrokers: gatewayStores.has("kafka") ? e.kafkaBrokers : undefined,
  });
  return [
    {
      namespace: routingNamespace(catalog),
      name: "router",
      replicas: catalog.router.replicas,
      program: "router",
      env: routerEnv(catalog, at, port),
    },
    ...domains(catalog).map((d) => ({
      namespace: domainNamespace(catalog, d.name),
      name: workloadName.tier(d.name),
      replicas: d.gateway.replicas,
      program: "gateway",
      env: gatewayEnv(catalog, d.name, at, port, "kubernetes", onlyGatewayStores(data(d.name))),
    })),
    ...services(catalog).flatMap((s) =>
      s.versions.map((v) => ({
        namespace: domainNamespace(catalog, s.domain),
        name: workloadName.service(s.name, v.name),
        replicas: s.replicas,
        program: s.name,
        env: serviceEnv(catalog, s.name, port, data(s.domain), v.name, at),
      })),
    ),
  ];
}

/** A domain's in-cluster store endpoints, read back from the recorded StatefulSets. */
function recordedData(domain: string): DataEndpoints {
  const ns = domainNamespace(catalog, domain);
  const sts = run.records
    .byType(STATEFULSET)
    .filter((r) => meta(r).namespace === ns)
    .map((r) => ({ r, c: container(r) }));
  const envOf = (c: Container, name: string) => c.env?.find((e) => e.name === name)?.value;
  const host = (r: ResourceRecord) =>
    `${meta(r).name}-0.${spec<{ serviceName: string }>(r).serviceName}.${ns}.svc.cluster.local`;
  const pg = sts.find(({ c }) => envOf(c, "POSTGRES_DB"));
  const redis = sts.find(({ c }) => c.args?.[0] === "redis-server");
  const kafka = sts.find(({ c }) => envOf(c, "KAFKA_ADVERTISED_LISTENERS"));
  return {
    databaseUrl: pg
      ? `postgres://${envOf(pg.c, "POSTGRES_USER")}@${host(pg.r)}:5432/${envOf(pg.c, "POSTGRES_DB")}`
      : undefined,
    redisUrl: redis ? `redis://${host(redis.r)}:6379` : undefined,
    kafkaBrokers: kafka
      ? envOf(kafka.c, "KAFKA_ADVERTISED_LISTENERS")!.replace(/^PLAINTEXT:\/\//, "")
      : undefined,
  };
}

const subset = (wanted: Labels | undefined, labels: Labels) =>
  Object.entries(wanted ?? {}).every(([k, v]) => labels[k] === v);

interface Pod {
  namespace: string;
  labels: Labels;
}
interface Peer {
  namespaceSelector?: { matchLabels: Labels };
  podSelector?: { matchLabels: Labels };
  ipBlock?: { cidr: string };
}
interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: { port: number }[];
}
interface PolicySpec {
  podSelector: { matchLabels?: Labels };
  policyTypes: string[];
  ingress?: Rule[];
  egress?: Rule[];
}

/** Whether the recorded NetworkPolicies let `from` open a TCP connection to `to` on `port`. */
function allowed(from: Pod, to: Pod, port: number): boolean {
  const policies = run.records
    .byType(POLICY)
    .map((r) => ({ ns: meta(r).namespace, spec: spec<PolicySpec>(r) }));
  const matches = (peer: Peer, pod: Pod) =>
    !peer.ipBlock &&
    subset(peer.namespaceSelector?.matchLabels, { "kubernetes.io/metadata.name": pod.namespace }) &&
    subset(peer.podSelector?.matchLabels, pod.labels);
  const side = (pod: Pod, type: "Ingress" | "Egress", other: Pod) => {
    const selecting = policies.filter(
      (p) =>
        p.ns === pod.namespace &&
        p.spec.policyTypes.includes(type) &&
        subset(p.spec.podSelector.matchLabels, pod.labels),
    );
    if (selecting.length === 0) return true;
    return selecting.some((p) =>
      (type === "Ingress" ? p.spec.ingress : p.spec.egress)?.some(
        (rule) =>
          (rule.ports ?? []).some((x) => x.port === port) &&
          ((type === "Ingress" ? rule.from : rule.to) ?? []).some((peer) => matches(peer, other)),
      ),
    );
  };
  return side(to, "Ingress", from) && side(from, "Egress", to);
}

const podOf = (namespace: string, name: string): Pod => ({
  namespace,
  labels: podSpec(deployment(namespace, name)).metadata.labels,
});

describe("kubernetes stack", () => {
  it("runs the router, every gateway tier and every service version with the catalog's replicas", () => {
    const wanted = expectedWorkloads(recordedData);
    expect(deployments()).toHaveLength(wanted.length);
    for (const w of wanted) {
      const d = deployment(w.namespace, w.name);
      expect([w.name, spec<{ replicas: number }>(d).replicas]).toEqual([w.name, w.replicas]);
      expect(container(d).args).toEqual([entrypoint(w.program)]);
    }
  });

  it("autoscales each Deployment from its catalog replicas up, and keeps all but one through disruptions", () => {
    const hpas = run.records.byType("kubernetes:autoscaling/v2:HorizontalPodAutoscaler");
    const pdbs = run.records.byType("kubernetes:policy/v1:PodDisruptionBudget");
    for (const d of deployments()) {
      const { name, namespace } = meta(d);
      const replicas = spec<{ replicas: number }>(d).replicas;
      const hpa = hpas.find((h) => meta(h).namespace === namespace && meta(h).name === name);
      expect(spec(hpa!)).toMatchObject({
        scaleTargetRef: { kind: "Deployment", name },
        minReplicas: replicas,
      });
      expect(spec<{ maxReplicas: number }>(hpa!).maxReplicas).toBeGreaterThan(replicas);
      const pdb = pdbs.find((p) => meta(p).namespace === namespace && meta(p).name === name);
      expect(spec(pdb!)).toEqual({
        maxUnavailable: 1,
        selector: { matchLabels: podSpec(d).metadata.labels },
      });
    }
  });

  it("scales render on its queue through KEDA where the stack names KEDA's namespace", async () => {
    const keda = await runProgram({
      stack: "k8s",
      secrets,
      config: { "platform:kedaNamespace": "keda" },
    });
    const queued = services(catalog).filter((s) => s.queueScaling);
    const scaledObjects = keda.records.byType("kubernetes:keda.sh/v1alpha1:ScaledObject");
    expect(scaledObjects.map((r) => meta(r).name)).toEqual(queued.map((s) => s.name));
    // Only those: the rest of the graph is the CPU-only stack's, one HPA fewer per ScaledObject.
    expect(keda.records.changedSince(run.records).sort()).toEqual(
      queued
        .flatMap((s) => [
          `create kubernetes:keda.sh/v1alpha1:ScaledObject ${s.name}`,
          `delete kubernetes:autoscaling/v2:HorizontalPodAutoscaler ${s.name}`,
          `update ${DEPLOYMENT} ${s.name}`,
          `update ${POLICY} ${s.name}`,
          `update kubernetes:core/v1:Service ${s.name}`,
        ])
        .sort(),
    );
    const manifests = manifestsOf(scaledObjects);
    const dir = mkdtempSync(join(tmpdir(), "k8s-keda-"));
    try {
      writeFileSync(join(dir, "keda.yaml"), toYaml(manifests));
      const checked = spawnSync(
        process.execPath,
        ["scripts/kubernetes/validate.ts", join(dir, "keda.yaml")],
        { encoding: "utf8" },
      );
      expect(checked.stdout).toContain(`${manifests.length} of ${manifests.length} objects valid`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const spreadOf = (r: RunResult) =>
    r.records.byType(DEPLOYMENT).map((d) => ({
      name: meta(d).name,
      spread: podSpec(d).spec.topologySpreadConstraints,
    }));
  /** Every Deployment of the default run, spread with `zone` over zones and softly over nodes. */
  const spreadBy = (zone: string) =>
    deployments().map((d) => {
      const labelSelector = { matchLabels: podSpec(d).metadata.labels };
      return {
        name: meta(d).name,
        spread: [
          {
            maxSkew: 1,
            topologyKey: "topology.kubernetes.io/zone",
            whenUnsatisfiable: zone,
            labelSelector,
          },
          {
            maxSkew: 1,
            topologyKey: "kubernetes.io/hostname",
            whenUnsatisfiable: "ScheduleAnyway",
            labelSelector,
          },
        ],
      };
    });

  // kind's nodes have no zone label: a DoNotSchedule zone constraint would keep every pod Pending.
  it("scales a service by its own Deployment and autoscaler alone", async () => {
    const third = await runProgram({ stack: "k8s", secrets, catalog: scaled("orders", 3) });
    expect(third.records.changedSince(run.records)).toEqual([
      `update ${DEPLOYMENT} orders`,
      "update kubernetes:autoscaling/v2:HorizontalPodAutoscaler orders",
    ]);
  });

  it("spreads every Deployment's replicas over zones and nodes, softly by default", () => {
    expect(spreadOf(run)).toEqual(spreadBy("ScheduleAnyway"));
  });

  it("requires the zone spread with platform:zoneSpread hard, and names a wrong value", async () => {
    const hard = await runProgram({
      stack: "k8s",
      secrets,
      config: { "platform:zoneSpread": "hard" },
    });
    expect(spreadOf(hard)).toEqual(spreadBy("DoNotSchedule"));
    await expect(
      runProgram({ stack: "k8s", secrets, config: { "platform:zoneSpread": "always" } }),
    ).rejects.toThrow('platform:zoneSpread must be "soft" or "hard"');
  });

  it("probes readiness on /readyz and liveness on /healthz, and sets requests and limits", () => {
    for (const d of deployments()) {
      const c = container(d);
      expect(c.readinessProbe?.httpGet).toEqual({ path: "/readyz", port });
      expect(c.livenessProbe?.httpGet).toEqual({ path: "/healthz", port });
      expect(Object.keys(c.resources?.requests ?? {}).sort()).toEqual(["cpu", "memory"]);
      expect(Object.keys(c.resources?.limits ?? {}).sort()).toEqual(["cpu", "memory"]);
    }
  });

  it("runs every pod with the restricted security context, and enforces it on every namespace", () => {
    for (const r of [...deployments(), ...run.records.byType(STATEFULSET)]) {
      const pod = podSpec(r).spec;
      expect([meta(r).name, pod.securityContext]).toMatchObject([
        meta(r).name,
        { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
      ]);
      for (const c of pod.containers)
        expect([meta(r).name, c.securityContext]).toMatchObject([
          meta(r).name,
          { allowPrivilegeEscalation: false, runAsNonRoot: true, capabilities: { drop: ["ALL"] } },
        ]);
    }
    // The services' root filesystem is read-only: DATA_DIR and /tmp are emptyDir volumes.
    for (const d of deployments()) {
      expect(container(d).securityContext).toMatchObject({ readOnlyRootFilesystem: true });
    }
    const namespaces = run.records.byType("kubernetes:core/v1:Namespace");
    expect(namespaces.map((n) => meta(n).name).sort()).toEqual(
      [
        routingNamespace(catalog),
        ...domains(catalog).map((d) => domainNamespace(catalog, d.name)),
      ].sort(),
    );
    for (const n of namespaces)
      expect(meta(n).labels).toMatchObject({ "pod-security.kubernetes.io/enforce": "restricted" });
  });

  it("lets only a domain's tier reach its services, and only the router reach the tiers", () => {
    const router = podOf(routingNamespace(catalog), "router");
    const ingress: Pod = { namespace: "ingress-nginx", labels: { app: "controller" } };
    const stranger: Pod = { namespace: "default", labels: { app: "curl" } };
    expect(allowed(ingress, router, port)).toBe(true);
    expect(allowed(stranger, router, port)).toBe(false);
    for (const d of domains(catalog)) {
      const ns = domainNamespace(catalog, d.name);
      const tier = podOf(ns, workloadName.tier(d.name));
      expect([d.name, allowed(router, tier, port)]).toEqual([d.name, true]);
      expect([d.name, allowed(stranger, tier, port)]).toEqual([d.name, false]);
      for (const s of services(catalog)) {
        for (const v of s.versions) {
          const svc = podOf(
            domainNamespace(catalog, s.domain),
            workloadName.service(s.name, v.name),
          );
          const own = s.domain === d.name;
          expect([d.name, s.name, allowed(tier, svc, port)]).toEqual([d.name, s.name, own]);
          expect([s.name, allowed(router, svc, port)]).toEqual([s.name, false]);
        }
      }
    }
    // Non-auth tiers verify keys at the auth domain's tier; nothing else crosses domains.
    const authDomain = catalog.services["auth"]!.domain;
    const authTier = podOf(domainNamespace(catalog, authDomain), workloadName.tier(authDomain));
    for (const d of domains(catalog).filter((x) => x.name !== authDomain)) {
      const tier = podOf(domainNamespace(catalog, d.name), workloadName.tier(d.name));
      expect(allowed(tier, authTier, port)).toBe(true);
      expect(allowed(authTier, tier, port)).toBe(false);
    }
  });

  it("lets a service reach the services it calls (catalog `calls`), and no other", () => {
    const pod = (service: string, version = "v1") =>
      podOf(
        domainNamespace(catalog, catalog.services[service]!.domain),
        workloadName.service(service, version),
      );
    for (const caller of services(catalog)) {
      for (const callee of services(catalog).filter((c) => c.name !== caller.name)) {
        // Monitoring reaches every replica: its own test below.
        const expected = caller.calls.includes(callee.name) || caller.name === MONITORING_SERVICE;
        expect([
          caller.name,
          callee.name,
          allowed(pod(caller.name), pod(callee.name), port),
        ]).toEqual([caller.name, callee.name, expected]);
      }
    }
    expect(catalog.services["chat"]!.calls.length).toBeGreaterThan(0);
  });

  it("lets a service reach another domain's tier only for its `tierCalls` (chat -> identity for quota), monitoring and the bridges every tier", () => {
    for (const s of services(catalog)) {
      for (const v of s.versions) {
        const svc = podOf(domainNamespace(catalog, s.domain), workloadName.service(s.name, v.name));
        for (const d of domains(catalog)) {
          const tier = podOf(domainNamespace(catalog, d.name), workloadName.tier(d.name));
          const expected =
            s.name === MONITORING_SERVICE ||
            callerRoles.has(s.role) ||
            s.tierCalls.some((c) => catalog.services[c]!.domain === d.name);
          expect([s.name, d.name, allowed(svc, tier, port)]).toEqual([s.name, d.name, expected]);
        }
      }
    }
    expect(catalog.services["chat"]!.tierCalls).toEqual(["quota"]);
  });

  it("lets monitoring reach every replica of the router, the tiers and the services, and finds them by headless Service", () => {
    const monitoring = catalog.services[MONITORING_SERVICE];
    expect(monitoring).toBeDefined();
    const monitor = podOf(domainNamespace(catalog, monitoring!.domain), MONITORING_SERVICE);
    const stranger = podOf(
      domainNamespace(catalog, catalog.services["orders"]!.domain),
      workloadName.service("orders", "v1"),
    );
    const targets: Array<[string, Pod]> = [
      ["router", podOf(routingNamespace(catalog), "router")],
      ...domains(catalog).map(
        (d) =>
          [d.name, podOf(domainNamespace(catalog, d.name), workloadName.tier(d.name))] as [
            string,
            Pod,
          ],
      ),
      ...services(catalog).flatMap((s) =>
        s.versions.map(
          (v) =>
            [
              `${s.name}@${v.name}`,
              podOf(domainNamespace(catalog, s.domain), workloadName.service(s.name, v.name)),
            ] as [string, Pod],
        ),
      ),
    ];
    for (const [name, pod] of targets) {
      // The router's metrics and readiness details are on its unpublished ops port only.
      const at = name === "router" ? catalog.opsPort : port;
      expect([name, allowed(monitor, pod, at)]).toEqual([name, true]);
    }
    const controller: Pod = { namespace: "ingress-nginx", labels: { app: "controller" } };
    expect(allowed(controller, targets[0]![1], catalog.opsPort)).toBe(false);
    // Only monitoring got that reach: another service still cannot open the router.
    expect(allowed(stranger, targets[0]![1], port)).toBe(false);

    // Its targets name a headless Service per workload, which lists unready pods too.
    const env = container(deployment(monitor.namespace, MONITORING_SERVICE)).env!;
    const listed = JSON.parse(env.find((e) => e.name === "MONITOR_TARGETS")!.value!) as Array<{
      group: string;
      dns: string;
    }>;
    expect(listed).toHaveLength(targets.length);
    const headless = run.records
      .byType("kubernetes:core/v1:Service")
      .filter((r) => spec<{ clusterIP?: string }>(r).clusterIP === "None");
    for (const t of listed) {
      const host = new URL(t.dns).hostname;
      const svc = headless.find(
        (r) => host === `${meta(r).name}.${meta(r).namespace}.svc.cluster.local`,
      );
      expect([
        t.group,
        svc && spec<{ publishNotReadyAddresses: boolean }>(svc).publishNotReadyAddresses,
      ]).toEqual([t.group, true]);
    }
  });

  it("sends the router's and gateways' traffic to each pod: their upstreams are headless Services", () => {
    const headless = new Set(
      run.records
        .byType("kubernetes:core/v1:Service")
        .filter((r) => spec<{ clusterIP?: string }>(r).clusterIP === "None")
        .map((r) => `${meta(r).name}.${meta(r).namespace}.svc.cluster.local`),
    );
    const upstreams = expectedWorkloads(recordedData)
      .filter((w) => w.program === "router" || w.program === "gateway")
      .flatMap((w) =>
        (container(deployment(w.namespace, w.name)).env ?? []).filter((e) =>
          /^(UPSTREAM_|TIER_|AUTH_URL$|QUOTA_URL$)/.test(e.name),
        ),
      );
    expect(upstreams.length).toBeGreaterThan(services(catalog).length);
    for (const e of upstreams) {
      for (const url of e.value!.split(",")) {
        // One A record per pod, so the failover manager balances and ejects pods one by one.
        expect([e.name, headless.has(new URL(url).hostname)]).toEqual([e.name, true]);
      }
    }
  });

  it("gives the replicas of a service that keeps blobs one ReadWriteMany claim as DATA_DIR", () => {
    const claims = run.records.byType("kubernetes:core/v1:PersistentVolumeClaim");
    for (const s of services(catalog)) {
      for (const w of serviceWorkloads(s)) {
        const pod = podSpec(deployment(domainNamespace(catalog, s.domain), w.name))
          .spec as unknown as {
          volumes: { name: string; persistentVolumeClaim?: { claimName: string } }[];
          containers: { volumeMounts: { name: string; mountPath: string }[] }[];
        };
        const claimed = pod.volumes.filter((v) => v.persistentVolumeClaim);
        if (!s.blobs) {
          expect([w.name, claimed]).toEqual([w.name, []]);
          continue;
        }
        expect(claimed.map((v) => v.persistentVolumeClaim!.claimName)).toEqual([`${w.name}-data`]);
        const mount = pod.containers[0]!.volumeMounts.find((m) => m.name === claimed[0]!.name);
        expect(mount?.mountPath).toBe(IMAGE_DATA_DIR);
        // DATA_DIR is that claim, not also an emptyDir.
        expect(
          pod.containers[0]!.volumeMounts.filter((m) => m.mountPath === IMAGE_DATA_DIR),
        ).toHaveLength(1);
        const claim = claims.find((c) => meta(c).name === `${w.name}-data`)!;
        expect(spec<{ accessModes: string[] }>(claim).accessModes).toEqual(["ReadWriteMany"]);
      }
    }
    expect(claims.some((c) => meta(c).name.startsWith("storage"))).toBe(true);
  });

  it("opens each domain's stores to that domain's users of them only", () => {
    const stores = run.records.byType(STATEFULSET);
    for (const s of services(catalog)) {
      const svc = podOf(
        domainNamespace(catalog, s.domain),
        workloadName.service(s.name, s.versions[0]!.name),
      );
      for (const st of stores) {
        const storePod: Pod = {
          namespace: meta(st).namespace,
          labels: podSpec(st).metadata.labels,
        };
        const kind = podSpec(st).metadata.labels["app.kubernetes.io/component"]!;
        const storePort = { postgres: 5432, redis: 6379, kafka: 9092 }[kind]!;
        const should =
          meta(st).namespace === domainNamespace(catalog, s.domain) &&
          (s.uses as string[]).includes(kind);
        expect([s.name, meta(st).name, allowed(svc, storePod, storePort)]).toEqual([
          s.name,
          meta(st).name,
          should,
        ]);
      }
    }
  });

  it("sets exactly the environment each program reads, with secrets from Secrets", () => {
    const secretNames = new Set(
      run.records
        .byType("kubernetes:core/v1:Secret")
        .map((s) => `${meta(s).namespace}/${meta(s).name}`),
    );
    for (const w of expectedWorkloads(recordedData)) {
      const env = container(deployment(w.namespace, w.name)).env ?? [];
      const plain = Object.fromEntries(
        env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value]),
      );
      expect([w.name, plain]).toEqual([w.name, w.env]);
      const fromSecrets = env.filter((e) => e.valueFrom);
      for (const e of fromSecrets) {
        const ref = e.valueFrom!.secretKeyRef!;
        expect(secretNames).toContain(`${w.namespace}/${ref.name}`);
      }
      const names = fromSecrets.map((e) => e.name).sort();
      const usesPostgres = "DATABASE_URL" in w.env;
      expect([w.name, names]).toEqual([
        w.name,
        [
          ...(w.program === "gateway" || w.program === MONITORING_SERVICE ? ["ADMIN_TOKEN"] : []),
          ...(w.program === "auth" ? ["DEMO_API_KEY"] : []),
          ...(usesPostgres ? ["PGPASSWORD"] : []),
          ...(w.program === "router" ? [] : ["PRINCIPAL_SECRET"]),
        ].sort(),
      ]);
    }
  });

  it("never records a secret in plain text", () => {
    const all = JSON.stringify(run.records.all);
    expect(all).not.toContain(password);
    expect(all).not.toContain(demoKey);
    for (const s of run.records.byType("kubernetes:core/v1:Secret"))
      expect(s.inputs["stringData"]).toBe(secretMark);
  });

  it("runs every workload from the pushed image by digest, render from its media variant", () => {
    const [image, media, ...others] = run.records.byType("docker:index/image:Image");
    expect(others).toHaveLength(0);
    expect(image!.inputs["skipPush"]).not.toBe(true);
    expect(image!.inputs["imageName"]).toBe("localhost:5001/platform/services:latest");
    expect(media!.inputs).toMatchObject({
      imageName: "localhost:5001/platform/services:latest-media",
      build: { target: "media" },
    });
    const digests = new Map<string, Set<string>>();
    for (const d of deployments()) {
      const variant = container(d).args?.includes("services/render/main.ts") ? "media" : "services";
      digests.set(variant, (digests.get(variant) ?? new Set()).add(container(d).image));
    }
    for (const variant of ["services", "media"]) {
      expect(digests.get(variant)!.size).toBe(1);
      expect([...digests.get(variant)!][0]).toMatch(
        /^localhost:5001\/platform\/services@sha256:[0-9a-f]{64}$/,
      );
    }
    expect(digests.get("media")).not.toEqual(digests.get("services"));
  });

  it("pushes a version with a source as an image of its own, tagged with its commit", async () => {
    const head = execFileSync("git", ["rev-parse", "HEAD"], { encoding: "utf8" }).trim();
    const sourced = await runProgram({
      stack: "k8s",
      secrets,
      catalog: ordersVersions([
        { name: "v1", weight: 100 },
        { name: "v2", weight: 0, source: { ref: "HEAD" } },
      ]),
    });
    const own = sourced.records.one("docker:index/image:Image", "platform-services-HEAD");
    expect(own.inputs).toMatchObject({
      imageName: `localhost:5001/platform/services:${head.slice(0, 12)}`,
      build: { context: `.run/sources/${head}` },
    });
    expect(own.inputs["skipPush"]).not.toBe(true);
    const imageOf = (name: string) =>
      container(sourced.records.byType(DEPLOYMENT).find((d) => meta(d).name === name)!).image;
    expect(imageOf("orders-v2")).toMatch(/^localhost:5001\/platform\/services@sha256:/);
    expect(imageOf("orders-v2")).not.toEqual(imageOf("orders"));
    expect(imageOf("orders")).toEqual(imageOf("articles"));
  });

  it("renders manifests that the Kubernetes schemas accept, and the check catches an invalid one", () => {
    const dir = mkdtempSync(join(tmpdir(), "k8s-manifests-"));
    try {
      const manifests = manifestsOf(run.records.all);
      const good = join(dir, "stack.yaml");
      writeFileSync(good, toYaml(manifests));
      const ok = spawnSync(process.execPath, ["scripts/kubernetes/validate.ts", good], {
        encoding: "utf8",
      });
      expect(ok.stdout).toContain(`${manifests.length} of ${manifests.length} objects valid`);
      expect(ok.status).toBe(0);

      const broken = manifests.map((m) =>
        m.kind === "Deployment" && (m["metadata"] as Meta).name === "router"
          ? { ...m, spec: { ...(m["spec"] as object), replicas: "two" } }
          : m,
      );
      const bad = join(dir, "broken.yaml");
      writeFileSync(bad, toYaml(broken));
      const failed = spawnSync(process.execPath, ["scripts/kubernetes/validate.ts", bad], {
        encoding: "utf8",
      });
      expect(failed.status).toBe(1);
      expect(failed.stdout).toContain(
        "invalid Deployment/router: data/spec/replicas must be integer",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const nginxAnnotations = (r: RunResult) => {
    const [ingress, ...others] = r.records.byType(INGRESS);
    expect(others).toHaveLength(0);
    const all = meta(ingress!).annotations ?? {};
    return Object.fromEntries(
      Object.entries(all).filter(([k]) => k.startsWith("nginx.ingress.kubernetes.io/")),
    );
  };

  // ingress-nginx's defaults (proxy-body-size 1m, read and send timeouts 60 s) would refuse the
  // storage service's uploads before the router sees them.
  it("lets through the ingress the largest body a gateway accepts, and its longest silence", async () => {
    const routed = services(catalog).filter((s) => s.routes.length > 0);
    const largest = Math.max(...routed.map((s) => s.traffic.maxBodyBytes));
    expect(largest).toBe(catalog.services["storage"]!.traffic.maxBodyBytes);
    expect(largest).toBeGreaterThan(1024 * 1024);
    expect(nginxAnnotations(run)).toEqual({
      "nginx.ingress.kubernetes.io/proxy-body-size": String(largest),
      // The catalog's longest silence (chat: 30 s between tokens) fits in nginx's own 60 s.
      "nginx.ingress.kubernetes.io/proxy-read-timeout": "60",
      "nginx.ingress.kubernetes.io/proxy-send-timeout": "60",
    });

    const chat = defaultCatalog.services["chat"]!;
    const orders = defaultCatalog.services["orders"]!;
    const variant = validateCatalog({
      ...defaultCatalog,
      services: {
        ...defaultCatalog.services,
        orders: { ...orders, traffic: { ...orders.traffic, maxBodyBytes: 32 * 1024 * 1024 } },
        chat: {
          ...chat,
          traffic: { ...chat.traffic, timeouts: { firstByteMs: 25_000, idleMs: 120_000 } },
        },
      },
    });
    const changed = await runProgram({ stack: "k8s", secrets, catalog: variant });
    expect(nginxAnnotations(changed)).toEqual({
      "nginx.ingress.kubernetes.io/proxy-body-size": String(32 * 1024 * 1024),
      // 120 s of silence, and 5 s more so that the gateway's own 504 arrives first.
      "nginx.ingress.kubernetes.io/proxy-read-timeout": "125",
      "nginx.ingress.kubernetes.io/proxy-send-timeout": "125",
    });
  });

  it("uses external stores from a secret instead of StatefulSets, and names a missing endpoint", async () => {
    const endpoints = Object.fromEntries(
      domains(catalog).map((d) => [
        d.name,
        {
          databaseUrl: `postgres://u:mock-db-secret@${d.name}.db.example.com:5432/${d.name}`,
          redisUrl: `rediss://:mock-redis-secret@${d.name}.cache.example.com:6379`,
          kafkaBrokers: `${d.name}-1.kafka.example.com:9094`,
        },
      ]),
    );
    const ext = await runProgram({
      stack: "k8s",
      config: { "platform:dataStores": "external" },
      secrets: { "platform:externalData": JSON.stringify(endpoints) },
    });
    expect(ext.records.byType(STATEFULSET)).toHaveLength(0);
    expect(JSON.stringify(ext.records.all)).not.toContain("mock-db-secret");
    const orders = ext.records.byType(DEPLOYMENT).find((d) => meta(d).name === "orders")!;
    const env = container(orders).env!;
    expect(env.find((e) => e.name === "DATABASE_URL")?.valueFrom?.secretKeyRef).toEqual({
      name: "stores",
      key: "DATABASE_URL",
    });
    expect(env.find((e) => e.name === "PGPASSWORD")).toBeUndefined();

    const partial = Object.fromEntries(Object.entries(endpoints).filter(([d]) => d !== "identity"));
    await expect(
      runProgram({
        stack: "k8s",
        config: { "platform:dataStores": "external" },
        secrets: { "platform:externalData": JSON.stringify(partial) },
      }),
    ).rejects.toThrow(/platform:externalData\.identity\.databaseUrl is required/);
  });

  it("reaches an external Kafka on its plaintext or its TLS listener, as the stack says", async () => {
    const endpoints = Object.fromEntries(
      domains(catalog).map((d) => [
        d.name,
        {
          databaseUrl: `postgres://u@${d.name}.db.example.com:5432/${d.name}`,
          redisUrl: `rediss://${d.name}.cache.example.com:6379`,
          kafkaBrokers: `${d.name}-1.kafka.example.com:9094`,
        },
      ]),
    );
    const deploy = (auth?: string) =>
      runProgram({
        stack: "k8s",
        config: {
          "platform:dataStores": "external",
          ...(auth ? { "platform:externalKafkaAuth": auth } : {}),
        },
        secrets: { "platform:externalData": JSON.stringify(endpoints) },
      });
    const kafkaSide = async (auth?: string) => {
      const ext = await deploy(auth);
      const orders = ext.records.byType(DEPLOYMENT).find((d) => meta(d).name === "orders")!;
      const policy = ext.records.byType(POLICY).find((p) => meta(p).name === "orders")!;
      const egressPorts = (spec<PolicySpec>(policy).egress ?? [])
        .filter((rule) => (rule.to ?? []).some((peer) => peer.ipBlock))
        .flatMap((rule) => (rule.ports ?? []).map((x) => x.port));
      return {
        kafkaAuth: container(orders).env!.find((e) => e.name === "KAFKA_AUTH")?.value,
        egressPorts: egressPorts.sort(),
      };
    };
    expect(await kafkaSide()).toEqual({ kafkaAuth: undefined, egressPorts: [5432, 9092] });
    expect(await kafkaSide("tls")).toEqual({ kafkaAuth: "tls", egressPorts: [5432, 9094] });
    await expect(deploy("scram")).rejects.toThrow(
      /platform:externalKafkaAuth must be "none" or "tls"/,
    );
  });

  it("refuses a stack without an image repository, naming the config key", async () => {
    await expect(
      runProgram({ stack: "k8s", secrets, config: { "platform:imageRepository": "" } }),
    ).rejects.toThrow(/platform:imageRepository is required on Kubernetes/);
  });

  it("generates the in-cluster database password when none is set, and refuses a plain one", async () => {
    const fresh = await runProgram({ stack: "k8s", secrets: {} });
    expect(
      fresh.records.one("random:index/randomPassword:RandomPassword", "platform-postgres-password")
        .inputs,
    ).toMatchObject({ length: 32, special: false });
    await expect(
      runProgram({
        stack: "k8s",
        secrets: {},
        config: { "platform:postgresPassword": "a-plain-text-password" },
      }),
    ).rejects.toThrow(/platform:postgresPassword is a secret/);
  });
});
