import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { PodPeer, PortPeer } from "./peers.ts";
import { egressRules, peerSelector } from "./peers.ts";
import { restrictedContainerSecurity, restrictedPodSecurity } from "./restricted.ts";

/** Average CPU, as a share of the request, that the autoscaler keeps the replicas at. */
const CPU_TARGET = 70;

/** An environment variable read from a key of a Kubernetes Secret. */
export interface SecretRef {
  secretName: pulumi.Input<string>;
  key: string;
}

export interface WorkloadArgs {
  /** Namespace of every object of the workload. */
  namespace: pulumi.Input<string>;
  /** Image whose entrypoint is `node` (this project's Dockerfile), by digest. */
  image: pulumi.Input<string>;
  /** Arguments to the entrypoint, e.g. `["services/orders/main.ts"]`. */
  args: string[];
  /** Replicas to start with; the HorizontalPodAutoscaler never goes below it. */
  replicas: number;
  /** Most replicas the autoscaler may add up to. Default 3 x `replicas`. */
  maxReplicas?: number;
  /** Port the program listens on; the Service exposes the same port. */
  port: number;
  /** Labels that identify the pods (the selector of the Deployment, Service, PDB and policies). */
  labels: Record<string, string>;
  /** Plain environment: visible to anyone who can read the Deployment. */
  env: Record<string, string>;
  /** Environment filled from Secrets, so that no secret value is written in the Deployment. */
  secretEnv?: Record<string, SecretRef>;
  /** CPU request in millicores; the limit is twice this. */
  cpuMillis: number;
  /** Memory request and limit in MiB. */
  memoryMi: number;
  /** Writable directories (emptyDir volumes); the root filesystem is read-only. Default `/tmp`. */
  writablePaths?: string[];
  /**
   * PersistentVolumeClaims every replica mounts, shared by all of them (ReadWriteMany), for what
   * one replica stores on disk and another must read. A path here takes the place of the same
   * path in `writablePaths`.
   */
  sharedClaims?: { claimName: pulumi.Input<string>; mountPath: string }[];
  /** Path that answers 2xx once the program can serve. Default `/readyz`. */
  readinessPath?: string;
  /** Path that answers 2xx while the process is alive. Default `/healthz`. */
  livenessPath?: string;
  /** uid and gid of the process; must match the image's non-root user. Default 10001. */
  runAsUser?: number;
  /** Node label the replicas are spread over. Default `topology.kubernetes.io/zone`. */
  spreadTopologyKey?: string;
  /**
   * `soft` (default): the scheduler prefers spreading over `spreadTopologyKey` but still places
   * pods where no node has that label (kind, most single-zone clusters). `hard`: a pod stays
   * Pending rather than skew the spread, and so never schedules where nodes lack the label.
   */
  zoneSpread?: "soft" | "hard";
  /** Pods allowed to connect to `port`; nobody else can (NetworkPolicy). */
  allowFrom: PodPeer[];
  /**
   * A second port (health details, metrics) and the pods that may reach it. The Service lists it
   * too, for a scraper that needs one address (KEDA); the NetworkPolicy still decides who gets in.
   */
  ops?: { port: number; allowFrom: PodPeer[] };
  /**
   * Scale on a queue as well as on CPU: a KEDA ScaledObject (the cluster must run KEDA) reads
   * the gauge `metric` from `metricsUrl`, in Prometheus's text format, and keeps about
   * `perReplica` items per replica. It takes the place of the CPU HorizontalPodAutoscaler: KEDA
   * makes one HPA with both metrics, and two HPAs on one Deployment would fight.
   */
  queueScaling?: { metricsUrl: string; metric: string; perReplica: number };
  /** Pods the workload may connect to (besides DNS). */
  allowTo: PortPeer[];
  /** TCP ports it may reach at any address, for endpoints outside the cluster (managed stores). */
  allowExternalPorts?: number[];
}

/**
 * One program as a Kubernetes workload, every object named after the component (so names must be
 * unique in the stack, not only in their namespace): a Deployment spread over zones and nodes with probes and a
 * restricted security context, its Service, a PodDisruptionBudget that keeps all but one
 * replica through voluntary disruptions, a CPU HorizontalPodAutoscaler, and a NetworkPolicy
 * that lets in only `allowFrom` and out only `allowTo`.
 */
export class Workload extends pulumi.ComponentResource {
  /** Name of the Service (and of every object of the workload). */
  readonly serviceName: pulumi.Output<string>;

  constructor(name: string, args: WorkloadArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:kubernetes:Workload", name, {}, opts);

    if (!Number.isInteger(args.replicas) || args.replicas < 1) {
      throw new Error(
        `${name}: replicas must be a whole number of at least 1 (got ${args.replicas})`,
      );
    }
    const uid = args.runAsUser ?? 10001;
    const shared = args.sharedClaims ?? [];
    const writable = (args.writablePaths ?? ["/tmp"]).filter(
      (path) => !shared.some((c) => c.mountPath === path),
    );
    const volumeName = (i: number) => `writable-${i}`;
    const meta = { name, namespace: args.namespace, labels: args.labels };
    const probe = (path: string, periodSeconds: number, failureThreshold: number) => ({
      httpGet: { path, port: args.port },
      periodSeconds,
      timeoutSeconds: 2,
      failureThreshold,
    });

    const deployment = new k8s.apps.v1.Deployment(
      name,
      {
        metadata: meta,
        spec: {
          replicas: args.replicas,
          selector: { matchLabels: args.labels },
          // Surge before removing: a rollout never drops below the replicas it started with.
          strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
          template: {
            metadata: { labels: args.labels },
            spec: {
              automountServiceAccountToken: false,
              // Service links would add a variable per Service of the namespace to the env.
              enableServiceLinks: false,
              terminationGracePeriodSeconds: 30,
              securityContext: restrictedPodSecurity(uid),
              topologySpreadConstraints: [
                {
                  maxSkew: 1,
                  topologyKey: args.spreadTopologyKey ?? "topology.kubernetes.io/zone",
                  // The scheduler's PodTopologySpread filter rejects every node without the
                  // label for a DoNotSchedule constraint, so hard is only for labelled clusters.
                  whenUnsatisfiable:
                    (args.zoneSpread ?? "soft") === "hard" ? "DoNotSchedule" : "ScheduleAnyway",
                  labelSelector: { matchLabels: args.labels },
                },
                // Soft too: a tainted node (a control plane) still counts as a domain with no pods,
                // so a hard host spread would block the surge pod of a rollout on small clusters.
                {
                  maxSkew: 1,
                  topologyKey: "kubernetes.io/hostname",
                  whenUnsatisfiable: "ScheduleAnyway",
                  labelSelector: { matchLabels: args.labels },
                },
              ],
              containers: [
                {
                  name: "app",
                  image: args.image,
                  imagePullPolicy: "IfNotPresent",
                  args: args.args,
                  ports: [{ name: "http", containerPort: args.port, protocol: "TCP" }],
                  env: [
                    ...Object.entries(args.env).map(([key, value]) => ({ name: key, value })),
                    ...Object.entries(args.secretEnv ?? {}).map(([key, ref]) => ({
                      name: key,
                      valueFrom: { secretKeyRef: { name: ref.secretName, key: ref.key } },
                    })),
                  ],
                  resources: {
                    requests: { cpu: `${args.cpuMillis}m`, memory: `${args.memoryMi}Mi` },
                    limits: { cpu: `${args.cpuMillis * 2}m`, memory: `${args.memoryMi}Mi` },
                  },
                  // Migrations and the first store connections may take a while: the startup
                  // probe gives a minute before liveness may restart the container.
                  startupProbe: probe(args.livenessPath ?? "/healthz", 2, 30),
                  readinessProbe: probe(args.readinessPath ?? "/readyz", 5, 3),
                  livenessProbe: probe(args.livenessPath ?? "/healthz", 10, 3),
                  // Endpoints take a moment to drop a terminating pod: keep serving meanwhile.
                  lifecycle: {
                    preStop: { exec: { command: ["node", "-e", "setTimeout(() => {}, 5000)"] } },
                  },
                  securityContext: restrictedContainerSecurity(true),
                  volumeMounts: [
                    ...writable.map((mountPath, i) => ({ name: volumeName(i), mountPath })),
                    ...shared.map(({ mountPath }, i) => ({ name: `shared-${i}`, mountPath })),
                  ],
                },
              ],
              volumes: [
                ...writable.map((_, i) => ({ name: volumeName(i), emptyDir: {} })),
                ...shared.map(({ claimName }, i) => ({
                  name: `shared-${i}`,
                  persistentVolumeClaim: { claimName },
                })),
              ],
            },
          },
        },
      },
      // The autoscaler owns the replica count once the Deployment exists.
      { parent: this, ignoreChanges: ["spec.replicas"] },
    );

    const service = new k8s.core.v1.Service(
      name,
      {
        metadata: meta,
        spec: {
          type: "ClusterIP",
          selector: args.labels,
          ports: [
            { name: "http", port: args.port, targetPort: args.port, protocol: "TCP" },
            ...(args.ops
              ? [{ name: "ops", port: args.ops.port, targetPort: args.ops.port, protocol: "TCP" }]
              : []),
          ],
        },
      },
      { parent: this },
    );

    // Headless: its DNS name answers one record per pod, not the balanced address, and lists pods
    // that are not ready too, so that a watcher can see every replica and which ones fail.
    new k8s.core.v1.Service(
      `${name}-pods`,
      {
        metadata: { ...meta, name: `${name}-pods` },
        spec: {
          clusterIP: "None",
          publishNotReadyAddresses: true,
          selector: args.labels,
          ports: [{ name: "http", port: args.port, targetPort: args.port, protocol: "TCP" }],
        },
      },
      { parent: this },
    );

    new k8s.policy.v1.PodDisruptionBudget(
      name,
      {
        metadata: meta,
        spec: { maxUnavailable: 1, selector: { matchLabels: args.labels } },
      },
      { parent: this },
    );

    const scaleTargetRef = { apiVersion: "apps/v1", kind: "Deployment", name };
    const maxReplicas = args.maxReplicas ?? args.replicas * 3;
    if (args.queueScaling) {
      const queue = args.queueScaling;
      new k8s.apiextensions.CustomResource(
        name,
        {
          apiVersion: "keda.sh/v1alpha1",
          kind: "ScaledObject",
          metadata: meta,
          spec: {
            scaleTargetRef,
            minReplicaCount: args.replicas,
            maxReplicaCount: maxReplicas,
            pollingInterval: 15,
            triggers: [
              { type: "cpu", metricType: "Utilization", metadata: { value: String(CPU_TARGET) } },
              {
                type: "metrics-api",
                // AverageValue: the HPA divides the depth by the replicas, so it keeps about
                // `perReplica` items per replica, as the backlog-per-task policy on AWS does.
                metricType: "AverageValue",
                metadata: {
                  url: queue.metricsUrl,
                  format: "prometheus",
                  valueLocation: queue.metric,
                  targetValue: String(queue.perReplica),
                },
              },
            ],
          },
        },
        { parent: this, dependsOn: [deployment] },
      );
    } else {
      new k8s.autoscaling.v2.HorizontalPodAutoscaler(
        name,
        {
          metadata: meta,
          spec: {
            scaleTargetRef,
            minReplicas: args.replicas,
            maxReplicas,
            metrics: [
              {
                type: "Resource",
                resource: {
                  name: "cpu",
                  target: { type: "Utilization", averageUtilization: CPU_TARGET },
                },
              },
            ],
          },
        },
        { parent: this, dependsOn: [deployment] },
      );
    }

    const external = args.allowExternalPorts ?? [];
    new k8s.networking.v1.NetworkPolicy(
      name,
      {
        metadata: meta,
        spec: {
          podSelector: { matchLabels: args.labels },
          policyTypes: ["Ingress", "Egress"],
          // A rule with an empty `from` would admit every source: no peers, no rule.
          ingress: [
            ...(args.allowFrom.length > 0
              ? [
                  {
                    from: args.allowFrom.map(peerSelector),
                    ports: [{ protocol: "TCP", port: args.port }],
                  },
                ]
              : []),
            ...(args.ops && args.ops.allowFrom.length > 0
              ? [
                  {
                    from: args.ops.allowFrom.map(peerSelector),
                    ports: [{ protocol: "TCP", port: args.ops.port }],
                  },
                ]
              : []),
          ],
          egress: [
            ...egressRules(args.allowTo),
            ...(external.length > 0
              ? [
                  {
                    to: [{ ipBlock: { cidr: "0.0.0.0/0" } }],
                    ports: external.map((port) => ({ protocol: "TCP", port })),
                  },
                ]
              : []),
          ],
        },
      },
      { parent: this },
    );

    this.serviceName = service.metadata.name;
    this.registerOutputs({ serviceName: this.serviceName });
  }
}
