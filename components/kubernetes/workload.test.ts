import type { WorkloadArgs } from "./workload.ts";
import { Workload } from "./workload.ts";
import type { Records, ResourceRecord } from "../../test/plan/records.ts";
import { recordComponents } from "../../test/plan/harness.ts";

// One Workload under Pulumi's mocks: every object it makes, their inputs and their parent.

const labels = { "app.kubernetes.io/name": "orders" };
const base: WorkloadArgs = {
  namespace: "shop",
  image: "registry.example.com/services@sha256:0",
  args: ["services/orders/main.ts"],
  replicas: 2,
  port: 8080,
  labels,
  env: { SERVICE_NAME: "orders" },
  secretEnv: { PGPASSWORD: { secretName: "stores", key: "PGPASSWORD" } },
  cpuMillis: 250,
  memoryMi: 256,
  allowFrom: [{ namespace: "shop", labels: { "app.kubernetes.io/name": "gateway-shop" } }],
  allowTo: [
    { namespace: "shop", labels: { "app.kubernetes.io/name": "shop-postgres" }, port: 5432 },
  ],
};

const build = (args: Partial<WorkloadArgs>) =>
  recordComponents(() => new Workload("orders", { ...base, ...args }), "k8s");
const of = (records: Records, type: string, name = "orders"): ResourceRecord =>
  records.one(`kubernetes:${type}`, name);
type Container = {
  env: { name: string; value?: string; valueFrom?: unknown }[];
  volumeMounts: { name: string; mountPath: string }[];
  securityContext: Record<string, unknown>;
};
const podSpec = (records: Records) =>
  (of(records, "apps/v1:Deployment").inputs as { spec: { template: { spec: PodSpec } } }).spec
    .template.spec;
interface PodSpec {
  containers: Container[];
  volumes: { name: string; emptyDir?: object; persistentVolumeClaim?: { claimName: string } }[];
  topologySpreadConstraints: { topologyKey: string; whenUnsatisfiable: string }[];
  automountServiceAccountToken: boolean;
}
type Policy = {
  spec: {
    ingress: { from: unknown[]; ports: { port: number }[] }[];
    egress: { to: unknown[]; ports: { port: number }[] }[];
  };
};
const policy = (records: Records) =>
  of(records, "networking.k8s.io/v1:NetworkPolicy").inputs as unknown as Policy;

describe("Workload", () => {
  let records: Records;
  beforeAll(async () => {
    records = await build({});
  });

  it("makes its Deployment, Services, budget, autoscaler and policy, all its children", () => {
    const component = records.one("platform:kubernetes:Workload", "orders");
    expect(
      records
        .childrenOf(component)
        .map((r) => `${r.type} ${r.name}`)
        .sort(),
    ).toEqual(
      [
        "kubernetes:apps/v1:Deployment orders",
        "kubernetes:autoscaling/v2:HorizontalPodAutoscaler orders",
        "kubernetes:core/v1:Service orders",
        "kubernetes:core/v1:Service orders-pods",
        "kubernetes:networking.k8s.io/v1:NetworkPolicy orders",
        "kubernetes:policy/v1:PodDisruptionBudget orders",
      ].sort(),
    );
    const pods = of(records, "core/v1:Service", "orders-pods").inputs as {
      spec: { clusterIP: string; publishNotReadyAddresses: boolean };
    };
    expect([pods.spec.clusterIP, pods.spec.publishNotReadyAddresses]).toEqual(["None", true]);
    const hpa = of(records, "autoscaling/v2:HorizontalPodAutoscaler").inputs as {
      spec: { minReplicas: number; maxReplicas: number };
    };
    expect([hpa.spec.minReplicas, hpa.spec.maxReplicas]).toEqual([2, 6]);
  });

  it("reads secrets from their Secret, never as a value, and runs restricted", () => {
    const spec = podSpec(records);
    const [app] = spec.containers;
    expect(app!.env).toEqual([
      { name: "SERVICE_NAME", value: "orders" },
      { name: "PGPASSWORD", valueFrom: { secretKeyRef: { name: "stores", key: "PGPASSWORD" } } },
    ]);
    expect(app!.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      runAsNonRoot: true,
    });
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.volumes).toEqual([{ name: "writable-0", emptyDir: {} }]);
  });

  it("admits only its callers on its port and sends only to its peers", () => {
    const { spec } = policy(records);
    expect(spec.ingress).toHaveLength(1);
    expect(spec.ingress[0]!.ports).toEqual([{ protocol: "TCP", port: 8080 }]);
    expect(spec.egress.map((r) => r.ports)).toEqual([[{ protocol: "TCP", port: 5432 }]]);
  });

  it("admits no one when nobody calls it, yet still its ops callers", async () => {
    const alone = await build({ allowFrom: [] });
    expect(policy(alone).spec.ingress).toEqual([]);
    const opsOnly = await build({
      allowFrom: [],
      ops: { port: 9464, allowFrom: [{ namespace: "ops" }] },
    });
    expect(policy(opsOnly).spec.ingress.map((r) => r.ports)).toEqual([
      [{ protocol: "TCP", port: 9464 }],
    ]);
  });

  it("mounts a shared claim in place of the same writable path, and opens external ports", async () => {
    const shared = await build({
      writablePaths: ["/data", "/tmp"],
      sharedClaims: [{ claimName: "orders-data", mountPath: "/data" }],
      allowExternalPorts: [5432],
      zoneSpread: "hard",
    });
    const spec = podSpec(shared);
    expect(spec.containers[0]!.volumeMounts).toEqual([
      { name: "writable-0", mountPath: "/tmp" },
      { name: "shared-0", mountPath: "/data" },
    ]);
    expect(spec.volumes[1]).toEqual({
      name: "shared-0",
      persistentVolumeClaim: { claimName: "orders-data" },
    });
    expect(spec.topologySpreadConstraints[0]!.whenUnsatisfiable).toBe("DoNotSchedule");
    expect(policy(shared).spec.egress[1]).toEqual({
      to: [{ ipBlock: { cidr: "0.0.0.0/0" } }],
      ports: [{ protocol: "TCP", port: 5432 }],
    });
  });

  it("scales on its queue through one KEDA ScaledObject, in place of the CPU autoscaler", async () => {
    const queued = await build({
      ops: { port: 9464, allowFrom: [{ namespace: "keda", labels: { app: "keda-operator" } }] },
      queueScaling: {
        metricsUrl: "http://orders.shop.svc.cluster.local:9464/metrics",
        metric: "orders_waiting",
        perReplica: 2,
      },
    });
    const component = queued.one("platform:kubernetes:Workload", "orders");
    const kinds = queued.childrenOf(component).map((r) => r.type);
    expect(kinds).not.toContain("kubernetes:autoscaling/v2:HorizontalPodAutoscaler");
    const scaled = queued.one("kubernetes:keda.sh/v1alpha1:ScaledObject", "orders");
    expect(scaled.parent).toBe(component.urn);
    expect(scaled.inputs).toMatchObject({
      metadata: { name: "orders", namespace: "shop" },
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "orders" },
        minReplicaCount: 2,
        maxReplicaCount: 6,
        triggers: [
          { type: "cpu", metricType: "Utilization", metadata: { value: "70" } },
          {
            type: "metrics-api",
            metricType: "AverageValue",
            metadata: {
              url: "http://orders.shop.svc.cluster.local:9464/metrics",
              format: "prometheus",
              valueLocation: "orders_waiting",
              targetValue: "2",
            },
          },
        ],
      },
    });
    // The URL's port is on the Service, and the operator is let in on it alone.
    const service = of(queued, "core/v1:Service").inputs as { spec: { ports: { port: number }[] } };
    expect(service.spec.ports.map((p) => p.port)).toEqual([8080, 9464]);
    expect(policy(queued).spec.ingress[1]).toEqual({
      from: [
        {
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "keda" } },
          podSelector: { matchLabels: { app: "keda-operator" } },
        },
      ],
      ports: [{ protocol: "TCP", port: 9464 }],
    });
  });

  it("refuses a replica count that is not a whole number of at least 1", () => {
    expect(() => new Workload("bad", { ...base, replicas: 0 })).toThrow(
      /bad: replicas must be a whole number of at least 1 \(got 0\)/,
    );
  });
});
