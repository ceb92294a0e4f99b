import type { StoreName } from "../../components/kubernetes/dataStores.ts";
import { storeEndpoints, storeLabels, storePorts } from "../../components/kubernetes/dataStores.ts";
import type { PodPeer, PortPeer } from "../../components/kubernetes/peers.ts";
import type { Catalog, StoreKind } from "../../platform/catalog/index.ts";
import { domains, gatewayStores, keyService, services } from "../../platform/catalog/index.ts";
import type { Edge, Workload as WorkloadRef } from "../../platform/catalog/reachability.ts";
import { reachability, workloadKey } from "../../platform/catalog/reachability.ts";
import { workloadName } from "../../platform/names.ts";
import type { DataEndpoints, Env } from "../../platform/runtimeEnv.ts";
import {
  entrypoint,
  imageVariant,
  type ImageVariant,
  envKey,
  gatewayEnv,
  routerEnv,
  secretEnvKey,
  serviceEnv,
} from "../../platform/runtimeEnv.ts";
import type { KubernetesSettings } from "./config.ts";
import { ingressNginxAnnotations } from "./ingress.ts";
import {
  assertDistinctNamespaces,
  clusterAddresses,
  clusterUrl,
  cpuMillis,
  domainNamespace,
  domainStores,
  routingNamespace,
  storeClients,
  workloadLabels,
  workloadPeer,
} from "./topology.ts";

// The Kubernetes target as plain data: namespaces, each domain's Secrets and stores, and every
// workload with its env, the Secret keys it reads, what it waits for and the peers its
// NetworkPolicy admits, computed from the catalog and the stack's settings alone.
// stacks/kubernetes.ts turns it into resources and supplies what only the engine knows (the
// image, the secrets' values); infra/kubernetes/plan.test.ts checks it without Pulumi.

/** Name of each domain's Secret with its store credentials (and endpoints, when external). */
export const storeSecretName = "stores";
/** Name of each domain's Secret with the stack's ADMIN_TOKEN, the same value in every domain. */
export const adminTokenSecretName = "admin-token";
/** Name of each domain's Secret with the stack's PRINCIPAL_SECRET, the same value in every domain. */
export const principalSecretName = "principal-secret";
const demoKeySecretName = "demo-api-key";

/** What a key of a Secret holds; the stack holds the values. */
export type SecretValue =
  | { of: "databasePassword" | "adminToken" | "principalSecret" | "demoApiKey" }
  | { of: "externalEndpoint"; domain: string; endpoint: keyof DataEndpoints };

export interface SecretPlan {
  /** The Pulumi name: namespace and Secret name, unique in the stack. */
  resourceName: string;
  name: string;
  namespace: string;
  data: Record<string, SecretValue>;
}

/** An environment variable read from a key of a Secret of the workload's namespace. */
export interface SecretKeyRef {
  secretName: string;
  key: string;
}

export interface DomainPlan {
  domain: string;
  namespace: string;
  /** Its Secrets: store credentials, the admin token, the signing key (and the demo key). */
  secrets: SecretPlan[];
  /** The stores run in the cluster (dev); absent when the stack uses external ones. */
  stores?: {
    kinds: StoreName[];
    /** The Secret (by `resourceName`) with the PostgreSQL password, which they wait for. */
    secret: string;
    clients: Partial<Record<StoreName, PodPeer[]>>;
    postgresPassword?: SecretKeyRef;
    volumeGb: number;
  };
}

export interface WorkloadPlan {
  name: string;
  kind: "router" | "gateway" | "service";
  namespace: string;
  /** The program the containers run (node's argument). */
  program: string;
  /** The image variant it runs (`media` for a catalog service with `media: true`). */
  image: ImageVariant;
  /** The git ref its image is built from (catalog `source`); unset: the checkout. */
  source?: string;
  replicas: number;
  cpuMillis: number;
  memoryMi: number;
  labels: Record<string, string>;
  env: Env;
  secretEnv: Record<string, SecretKeyRef>;
  /** Secrets (by `resourceName`) and the domain whose stores must exist first. */
  waitsFor: { secrets: string[]; storesOf?: string };
  allowFrom: PodPeer[];
  allowTo: PortPeer[];
  allowExternalPorts: number[];
  ops?: { port: number; allowFrom: PodPeer[] };
  /** A ReadWriteMany claim all replicas share as DATA_DIR, for a service that keeps blobs. */
  sharedClaim?: { name: string; storageClass?: string; gb: number };
  /**
   * Scaling on a queue besides CPU (catalog `queueScaling`, with `platform:kedaNamespace` set):
   * KEDA reads `metric` from `metricsUrl` (the ops port, which only KEDA's operator may reach)
   * and keeps about `perReplica` waiting items per replica.
   */
  queueScaling?: { metricsUrl: string; metric: string; perReplica: number };
}

export interface KubernetesPlan {
  routingNamespace: string;
  /** Every namespace, the routing one first. */
  namespaces: string[];
  domains: DomainPlan[];
  /** In creation order: services, gateway tiers, the router. */
  workloads: WorkloadPlan[];
  /** The Ingress in front of the router. */
  ingress: {
    resourceName: string;
    name: string;
    namespace: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    className?: string;
    host?: string;
    tlsSecret?: string;
  };
  /** Where things are, for the stack's outputs. */
  endpoints: Record<string, string>;
}

/** The usual ports of managed services; Kafka's depends on `platform:externalKafkaAuth`. */
const externalPorts = (kafkaAuth: "none" | "tls"): Record<StoreKind, number> => ({
  postgres: 5432,
  redis: 6379,
  // The plaintext and the TLS listeners of MSK and most managed Kafka services.
  kafka: kafkaAuth === "tls" ? 9094 : 9092,
});
const endpointEnv: Record<StoreKind, { key: keyof DataEndpoints; env: string }> = {
  postgres: { key: "databaseUrl", env: envKey.databaseUrl },
  redis: { key: "redisUrl", env: envKey.redisUrl },
  kafka: { key: "kafkaBrokers", env: envKey.kafkaBrokers },
};

/** KEDA's operator, which polls the scalers (the labels of its Helm chart and AKS's add-on). */
const kedaOperator = (namespace: string): PodPeer => ({
  namespace,
  labels: { "app.kubernetes.io/name": "keda-operator" },
});

/** The Kubernetes target's topology, from the catalog and the stack's settings. */
export function planKubernetes(
  catalog: Catalog,
  settings: KubernetesSettings,
  options: { demoApiKey: boolean },
): KubernetesPlan {
  assertDistinctNamespaces(catalog);
  const port = catalog.containerPort;
  const at = clusterAddresses(catalog);
  const external = settings.dataStores === "external";
  const routingNs = routingNamespace(catalog);
  const authDomain = keyService(catalog).domain;

  // Who may connect to whom (platform/catalog/reachability.ts): each workload lets in the peers of
  // the connections that end at it and sends to those that start at it, nothing else.
  const edges = reachability(catalog);
  const peerOf = (w: WorkloadRef): PodPeer =>
    w.kind === "router"
      ? workloadPeer(catalog, routingNs, workloadName.router, "router")
      : w.kind === "tier"
        ? workloadPeer(
            catalog,
            domainNamespace(catalog, w.domain),
            workloadName.tier(w.domain),
            "gateway",
          )
        : workloadPeer(
            catalog,
            domainNamespace(catalog, catalog.services[w.service]!.domain),
            workloadName.service(w.service, w.version),
            "service",
          );
  const portOf = (edge: Edge) => (edge.port === "ops" ? catalog.opsPort : port);
  const allowFrom = (w: WorkloadRef, on: Edge["port"] = "container"): PodPeer[] =>
    edges
      .filter((e) => e.port === on && workloadKey(e.to) === workloadKey(w))
      .map((e) => peerOf(e.from));
  const allowTo = (w: WorkloadRef): PortPeer[] =>
    edges
      .filter((e) => workloadKey(e.from) === workloadKey(w))
      .map((e) => ({ ...peerOf(e.to), port: portOf(e) }));

  const secret = (namespace: string, name: string, data: SecretPlan["data"]): SecretPlan => ({
    resourceName: `${namespace}-${name}`,
    name,
    namespace,
    data,
  });
  const domainPlans: DomainPlan[] = domains(catalog).map((d) => {
    const ns = domainNamespace(catalog, d.name);
    const used = domainStores(catalog, d.name);
    const storeData: SecretPlan["data"] = {};
    if (external) {
      for (const kind of used)
        storeData[endpointEnv[kind].env] = {
          of: "externalEndpoint",
          domain: d.name,
          endpoint: endpointEnv[kind].key,
        };
    } else if (used.has("postgres")) {
      storeData[secretEnvKey.databasePassword] = { of: "databasePassword" };
    }
    // A stack-wide value in a Secret of the domain's own, as a pod reads Secrets of its
    // namespace only: the operators' token for the gateway's /admin (and monitoring's, where it
    // runs), and the key of what the gateway signs and every service of the domain checks.
    const storeSecret = secret(ns, storeSecretName, storeData);
    const secrets = [
      storeSecret,
      secret(ns, adminTokenSecretName, { [envKey.adminToken]: { of: "adminToken" } }),
      secret(ns, principalSecretName, { [envKey.principalSecret]: { of: "principalSecret" } }),
    ];
    // The demo key lives in the namespace of the api-keys service, which registers it.
    if (d.name === authDomain && options.demoApiKey)
      secrets.push(secret(ns, demoKeySecretName, { [envKey.demoApiKey]: { of: "demoApiKey" } }));
    return {
      domain: d.name,
      namespace: ns,
      secrets,
      stores: external
        ? undefined
        : {
            kinds: [...used],
            secret: storeSecret.resourceName,
            clients: Object.fromEntries(
              [...used].map((kind) => [kind, storeClients(catalog, d.name, kind)]),
            ),
            postgresPassword: used.has("postgres")
              ? { secretName: storeSecretName, key: secretEnvKey.databasePassword }
              : undefined,
            volumeGb: settings.storeVolumeGb,
          },
    };
  });

  /** What a workload of `domain` that uses `stores` gets: env, secret env, egress. */
  const storeWiring = (domain: string, stores: ReadonlySet<StoreKind>) => {
    const ns = domainNamespace(catalog, domain);
    const ref = (key: string): SecretKeyRef => ({ secretName: storeSecretName, key });
    const secretEnv: Record<string, SecretKeyRef> = {};
    const egress: PortPeer[] = [];
    const allowExternalPorts: number[] = [];
    const endpoints: DataEndpoints = {};
    // Plain env besides the endpoints: how the clients sign in to an external Kafka.
    const env: Env = {};
    if (!external) {
      const inCluster = storeEndpoints(domain, ns, [...domainStores(catalog, domain)]);
      for (const kind of stores) {
        const key = endpointEnv[kind].key;
        endpoints[key] = inCluster[key];
      }
      for (const kind of stores)
        egress.push({ namespace: ns, labels: storeLabels(domain, kind), port: storePorts[kind] });
      if (stores.has("postgres"))
        secretEnv[secretEnvKey.databasePassword] = ref(secretEnvKey.databasePassword);
    } else {
      for (const kind of stores) {
        secretEnv[endpointEnv[kind].env] = ref(endpointEnv[kind].env);
        allowExternalPorts.push(externalPorts(settings.externalKafkaAuth)[kind]);
      }
      if (stores.has("kafka") && settings.externalKafkaAuth !== "none")
        env[envKey.kafkaAuth] = settings.externalKafkaAuth;
    }
    return { endpoints, env, secretEnv, egress, allowExternalPorts };
  };
  const fromSecret = (name: string, key: string): Record<string, SecretKeyRef> => ({
    [key]: { secretName: name, key },
  });
  const adminTokenEnv = fromSecret(adminTokenSecretName, envKey.adminToken);
  const signingEnv = fromSecret(principalSecretName, envKey.principalSecret);
  const secretOf = (domain: string, name: string) => `${domainNamespace(catalog, domain)}-${name}`;

  const workloads: WorkloadPlan[] = [];
  for (const s of services(catalog)) {
    const ns = domainNamespace(catalog, s.domain);
    const wiring = storeWiring(s.domain, new Set(s.uses));
    const secretEnv = { ...wiring.secretEnv, ...signingEnv };
    const waitsFor = [secretOf(s.domain, storeSecretName), secretOf(s.domain, principalSecretName)];
    if (s.role === "api-keys" && options.demoApiKey) {
      Object.assign(secretEnv, fromSecret(demoKeySecretName, envKey.demoApiKey));
      waitsFor.push(secretOf(s.domain, demoKeySecretName));
    }
    if (s.role === "monitoring") {
      Object.assign(secretEnv, adminTokenEnv);
      waitsFor.push(secretOf(s.domain, adminTokenSecretName));
    }
    for (const v of s.versions) {
      const name = workloadName.service(s.name, v.name);
      const self: WorkloadRef = { kind: "service", service: s.name, version: v.name };
      const queue = s.queueScaling && settings.kedaNamespace ? s.queueScaling : undefined;
      workloads.push({
        name,
        kind: "service",
        namespace: ns,
        program: entrypoint(s.name),
        image: imageVariant(s),
        source: v.source?.ref,
        replicas: s.replicas,
        cpuMillis: cpuMillis(s.cpu),
        memoryMi: s.memory,
        labels: workloadLabels(catalog, name, "service"),
        env: {
          ...serviceEnv(catalog, s.name, port, wiring.endpoints, v.name, at),
          ...wiring.env,
          ...(queue ? { [envKey.opsPort]: String(catalog.opsPort) } : {}),
        },
        secretEnv,
        waitsFor: { secrets: waitsFor, storesOf: external ? undefined : s.domain },
        allowFrom: allowFrom(self),
        allowTo: [...wiring.egress, ...allowTo(self)],
        allowExternalPorts: wiring.allowExternalPorts,
        // A service that keeps blobs keeps them on disk here (no S3): every replica must read
        // what another stored, so its replicas share one ReadWriteMany claim as DATA_DIR.
        sharedClaim: s.blobs
          ? {
              name: `${name}-data`,
              storageClass: settings.sharedStorageClass,
              gb: settings.blobVolumeGb,
            }
          : undefined,
        // KEDA's operator scrapes the depth on the ops port (health and metrics only), so it
        // is let in there and nowhere else.
        ...(queue && {
          ops: { port: catalog.opsPort, allowFrom: [kedaOperator(settings.kedaNamespace!)] },
          queueScaling: {
            metricsUrl: `${clusterUrl(ns, name, catalog.opsPort)}/metrics`,
            metric: queue.metric,
            perReplica: queue.perReplica,
          },
        }),
      });
    }
  }

  for (const d of domains(catalog)) {
    const name = workloadName.tier(d.name);
    const wiring = storeWiring(d.name, gatewayStores);
    const self: WorkloadRef = { kind: "tier", domain: d.name };
    workloads.push({
      name,
      kind: "gateway",
      namespace: domainNamespace(catalog, d.name),
      program: entrypoint("gateway"),
      image: "services",
      replicas: d.gateway.replicas,
      cpuMillis: cpuMillis(d.gateway.cpu),
      memoryMi: d.gateway.memory,
      labels: workloadLabels(catalog, name, "gateway"),
      env: {
        ...gatewayEnv(catalog, d.name, at, port, "kubernetes", wiring.endpoints),
        ...wiring.env,
      },
      secretEnv: { ...wiring.secretEnv, ...adminTokenEnv, ...signingEnv },
      waitsFor: {
        secrets: [
          secretOf(d.name, storeSecretName),
          secretOf(d.name, adminTokenSecretName),
          secretOf(d.name, principalSecretName),
        ],
        storesOf: external ? undefined : d.name,
      },
      allowFrom: allowFrom(self),
      allowTo: [...allowTo(self), ...wiring.egress],
      allowExternalPorts: wiring.allowExternalPorts,
    });
  }

  workloads.push({
    name: workloadName.router,
    kind: "router",
    namespace: routingNs,
    program: entrypoint("router"),
    image: "services",
    replicas: catalog.router.replicas,
    cpuMillis: cpuMillis(catalog.router.cpu),
    memoryMi: catalog.router.memory,
    labels: workloadLabels(catalog, workloadName.router, "router"),
    env: routerEnv(catalog, at, port),
    secretEnv: {},
    waitsFor: { secrets: [] },
    // Only the ingress controller reaches the router, and only monitoring its ops port; it
    // reaches only the tiers.
    allowFrom: [{ namespace: settings.ingressNamespace }],
    ops: { port: catalog.opsPort, allowFrom: allowFrom({ kind: "router" }, "ops") },
    allowTo: allowTo({ kind: "router" }),
    allowExternalPorts: [],
  });

  return {
    routingNamespace: routingNs,
    namespaces: [routingNs, ...domainPlans.map((d) => d.namespace)],
    domains: domainPlans,
    workloads,
    ingress: {
      resourceName: `${routingNs}-${workloadName.router}`,
      name: workloadName.router,
      namespace: routingNs,
      labels: workloadLabels(catalog, workloadName.router, "router"),
      annotations: ingressNginxAnnotations(catalog),
      className: settings.ingressClassName,
      host: settings.ingressHost,
      tlsSecret: settings.ingressTlsSecret,
    },
    endpoints: {
      router: clusterUrl(routingNs, workloadName.router, port),
      ...Object.fromEntries(
        domains(catalog).map((d) => [workloadName.tier(d.name), at.tiers[d.name]!.join(",")]),
      ),
      // Where the admin token is (the same in every domain namespace), not the token.
      adminTokenSecret: `${domainNamespace(catalog, authDomain)}/${adminTokenSecretName}`,
    },
  };
}
