import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { PodPeer } from "./peers.ts";
import { peerSelector } from "./peers.ts";
import type { SecretRef } from "./workload.ts";
import { restrictedContainerSecurity, restrictedPodSecurity } from "./restricted.ts";

export type StoreName = "postgres" | "redis" | "kafka";

export interface DataStoresArgs {
  /** Namespace of the stores, by name: the connection strings are built from it. */
  namespace: string;
  /** Which stores to run; the others are not created. */
  stores: readonly StoreName[];
  /** Secret key holding the PostgreSQL password; required with `postgres`. */
  postgresPassword?: SecretRef;
  /** Database created at first start. Default: the component's name. */
  database?: string;
  /** PostgreSQL user. Default `platform`. */
  user?: string;
  /** Pods allowed to connect to each store (NetworkPolicy); nobody else can. */
  clients: Partial<Record<StoreName, PodPeer[]>>;
  /** Size of each store's PersistentVolumeClaim in GiB. Default 1. */
  volumeGb?: number;
  /** Images, by default the official ones this platform is tested with. */
  images?: Partial<Record<StoreName, string>>;
}

/** The labels of a store's pods, which its NetworkPolicy and its clients' egress rules select. */
export function storeLabels(name: string, kind: StoreName): Record<string, string> {
  return { "app.kubernetes.io/name": `${name}-${kind}`, "app.kubernetes.io/component": kind };
}

/** The port each store listens on. */
export const storePorts: Record<StoreName, number> = { redis: 6379, postgres: 5432, kafka: 9092 };

/**
 * The connection strings of the stores a `DataStores` named `name` in `namespace` runs, known
 * before it exists: the pod's stable DNS name behind its headless Service. They carry no
 * password: PostgreSQL's travels as PGPASSWORD from a Secret.
 */
export function storeEndpoints(
  name: string,
  namespace: string,
  stores: readonly StoreName[],
  { user = "platform", database = name }: { user?: string; database?: string } = {},
): { databaseUrl?: string; redisUrl?: string; kafkaBrokers?: string } {
  const host = (kind: StoreName) =>
    `${name}-${kind}-0.${name}-${kind}.${namespace}.svc.cluster.local`;
  const has = (kind: StoreName) => stores.includes(kind);
  return {
    ...(has("postgres")
      ? { databaseUrl: `postgres://${user}@${host("postgres")}:${storePorts.postgres}/${database}` }
      : {}),
    ...(has("redis") ? { redisUrl: `redis://${host("redis")}:${storePorts.redis}` } : {}),
    ...(has("kafka") ? { kafkaBrokers: `${host("kafka")}:${storePorts.kafka}` } : {}),
  };
}

const defaultImages: Record<StoreName, string> = {
  redis: "redis:7",
  postgres: "postgres:16",
  kafka: "apache/kafka:3.9.0",
};
/** The non-root user each official image is built to run as. */
const uids: Record<StoreName, number> = { redis: 999, postgres: 999, kafka: 1000 };

/**
 * One domain's Redis, PostgreSQL and Kafka for development clusters: each a single-replica
 * StatefulSet with a PersistentVolumeClaim, a headless Service that gives the pod a stable DNS
 * name, probes, the restricted security context, and a NetworkPolicy that admits only its
 * clients. Production points the workloads at managed endpoints instead (no StatefulSets).
 * Connection strings carry no password: PostgreSQL's travels as PGPASSWORD from a Secret.
 */
export class DataStores extends pulumi.ComponentResource {
  /** Connection strings of the stores created; absent for the others. */
  readonly endpoints: { databaseUrl?: string; redisUrl?: string; kafkaBrokers?: string };

  constructor(name: string, args: DataStoresArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:kubernetes:DataStores", name, {}, opts);

    const images = { ...defaultImages, ...args.images };
    const user = args.user ?? "platform";
    const database = args.database ?? name;
    const ns = args.namespace;
    this.endpoints = storeEndpoints(name, ns, args.stores, { user, database });
    const has = (kind: StoreName) => args.stores.includes(kind);

    interface StoreSpec {
      args?: string[];
      env?: k8s.types.input.core.v1.EnvVar[];
      dataPath: string;
      /** Directories besides the volume that the image writes to. */
      scratch: string[];
      /** False for an image that rewrites its own files at start. */
      readOnlyRoot: boolean;
      probe: k8s.types.input.core.v1.Probe;
      cpuMillis: number;
      memoryMi: number;
    }

    const store = (kind: StoreName, spec: StoreSpec) => {
      const full = `${name}-${kind}`;
      const labels = storeLabels(name, kind);
      const meta = { name: full, namespace: ns, labels };
      new k8s.core.v1.Service(
        full,
        {
          metadata: meta,
          spec: {
            clusterIP: "None",
            selector: labels,
            ports: [
              { name: kind, port: storePorts[kind], targetPort: storePorts[kind], protocol: "TCP" },
            ],
          },
        },
        { parent: this },
      );
      const clients = args.clients[kind] ?? [];
      new k8s.networking.v1.NetworkPolicy(
        full,
        {
          metadata: meta,
          spec: {
            podSelector: { matchLabels: labels },
            policyTypes: ["Ingress"],
            ingress:
              clients.length === 0
                ? []
                : [
                    {
                      from: clients.map(peerSelector),
                      ports: [{ protocol: "TCP", port: storePorts[kind] }],
                    },
                  ],
          },
        },
        { parent: this },
      );
      const uid = uids[kind];
      new k8s.apps.v1.StatefulSet(
        full,
        {
          metadata: meta,
          spec: {
            serviceName: full,
            replicas: 1,
            selector: { matchLabels: labels },
            template: {
              metadata: { labels },
              spec: {
                automountServiceAccountToken: false,
                enableServiceLinks: false,
                securityContext: restrictedPodSecurity(uid),
                containers: [
                  {
                    name: kind,
                    image: images[kind],
                    args: spec.args,
                    env: spec.env,
                    ports: [{ name: kind, containerPort: storePorts[kind], protocol: "TCP" }],
                    readinessProbe: { ...spec.probe, periodSeconds: 10, failureThreshold: 3 },
                    livenessProbe: {
                      ...spec.probe,
                      initialDelaySeconds: 60,
                      periodSeconds: 20,
                      failureThreshold: 6,
                    },
                    resources: {
                      requests: { cpu: `${spec.cpuMillis}m`, memory: `${spec.memoryMi}Mi` },
                      limits: { memory: `${spec.memoryMi}Mi` },
                    },
                    securityContext: restrictedContainerSecurity(spec.readOnlyRoot),
                    volumeMounts: [
                      { name: "data", mountPath: spec.dataPath },
                      ...spec.scratch.map((mountPath, i) => ({ name: `scratch-${i}`, mountPath })),
                    ],
                  },
                ],
                volumes: spec.scratch.map((_, i) => ({ name: `scratch-${i}`, emptyDir: {} })),
              },
            },
            volumeClaimTemplates: [
              {
                metadata: { name: "data" },
                spec: {
                  accessModes: ["ReadWriteOnce"],
                  resources: { requests: { storage: `${args.volumeGb ?? 1}Gi` } },
                },
              },
            ],
          },
        },
        { parent: this },
      );
    };

    if (has("redis")) {
      store("redis", {
        // Append-only file: a restart keeps rate-limit windows, cached answers, idempotency keys.
        args: ["redis-server", "--appendonly", "yes", "--dir", "/data"],
        dataPath: "/data",
        scratch: [],
        readOnlyRoot: true,
        probe: { exec: { command: ["redis-cli", "ping"] }, timeoutSeconds: 3 },
        cpuMillis: 50,
        memoryMi: 128,
      });
    }
    if (has("postgres")) {
      if (!args.postgresPassword) throw new Error(`${name}: postgres needs postgresPassword`);
      const password = args.postgresPassword;
      store("postgres", {
        env: [
          { name: "POSTGRES_USER", value: user },
          { name: "POSTGRES_DB", value: database },
          {
            name: "POSTGRES_PASSWORD",
            valueFrom: { secretKeyRef: { name: password.secretName, key: password.key } },
          },
          // A subdirectory: the volume's root may hold lost+found, which initdb refuses.
          { name: "PGDATA", value: "/var/lib/postgresql/data/pgdata" },
        ],
        dataPath: "/var/lib/postgresql/data",
        scratch: ["/var/run/postgresql", "/tmp"],
        readOnlyRoot: true,
        probe: {
          exec: { command: ["pg_isready", "-h", "127.0.0.1", "-U", user, "-d", database] },
          timeoutSeconds: 5,
        },
        cpuMillis: 100,
        memoryMi: 512,
      });
    }
    if (has("kafka")) {
      store("kafka", {
        // Setting any KAFKA_* variable replaces the image's default configuration, so the whole
        // single-node KRaft setup is spelled out; the advertised name is the pod's stable DNS name.
        env: [
          ["KAFKA_NODE_ID", "1"],
          ["KAFKA_PROCESS_ROLES", "broker,controller"],
          ["KAFKA_LISTENERS", `PLAINTEXT://:${storePorts.kafka},CONTROLLER://:9093`],
          ["KAFKA_ADVERTISED_LISTENERS", `PLAINTEXT://${this.endpoints.kafkaBrokers}`],
          ["KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER"],
          ["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"],
          ["KAFKA_CONTROLLER_QUORUM_VOTERS", "1@localhost:9093"],
          ["KAFKA_LOG_DIRS", "/var/lib/kafka/data/logs"],
          ["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1"],
          ["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1"],
          ["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1"],
          ["KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0"],
          ["KAFKA_HEAP_OPTS", "-Xms256m -Xmx512m"],
        ].map(([key, value]) => ({ name: key!, value: value! })),
        dataPath: "/var/lib/kafka/data",
        scratch: [],
        // Its launcher writes the generated server.properties and the logs under /opt/kafka,
        // among the image's own files (the restricted Pod Security Standard allows this).
        readOnlyRoot: false,
        probe: { tcpSocket: { port: storePorts.kafka }, timeoutSeconds: 3 },
        cpuMillis: 200,
        memoryMi: 1024,
      });
    }

    this.registerOutputs({ endpoints: this.endpoints });
  }
}
