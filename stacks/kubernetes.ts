import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { BuiltImage } from "../components/docker/builtImage.ts";
import { DataStores } from "../components/kubernetes/dataStores.ts";
import { IsolatedNamespace } from "../components/kubernetes/isolatedNamespace.ts";
import type { PodPeer, PortPeer } from "../components/kubernetes/peers.ts";
import type { SecretRef } from "../components/kubernetes/workload.ts";
import { Workload } from "../components/kubernetes/workload.ts";
import { adminToken } from "../infra/adminToken.ts";
import { principalSecret } from "../infra/principalSecret.ts";
import type { Catalog, StoreKind } from "../platform/catalog/index.ts";
import {
  reachability,
  workloadKey,
  type Edge,
  type Workload as WorkloadRef,
} from "../platform/catalog/reachability.ts";
import { domains, keyService, services } from "../platform/catalog/index.ts";
import {
  demoApiKey,
  externalData,
  inClusterPostgresPassword,
  kubernetesSettings,
} from "../infra/kubernetes/config.ts";
import { ingressNginxAnnotations } from "../infra/kubernetes/ingress.ts";
import {
  assertDistinctNamespaces,
  clusterAddresses,
  clusterUrl,
  cpuMillis,
  domainNamespace,
  domainStores,
  routingNamespace,
  serviceWorkloads,
  storeClients,
  workloadLabels,
  workloadPeer,
} from "../infra/kubernetes/topology.ts";
import type { DataEndpoints, Env } from "../platform/runtimeEnv.ts";
import {
  entrypoint,
  envKey,
  gatewayEnv,
  IMAGE_DATA_DIR,
  routerEnv,
  serviceEnv,
} from "../platform/runtimeEnv.ts";
import type { StackOutputs } from "./outputs.ts";
import { gatewayStores } from "../platform/catalog/index.ts";
import { secretEnvKey } from "../platform/runtimeEnv.ts";
import { workloadName } from "../platform/names.ts";

/** The image's DATA_DIR: an emptyDir (or a shared claim), as the root filesystem is read-only. */
const dataDir = IMAGE_DATA_DIR;
/** Name of each domain's Secret with its store credentials (and endpoints, when external). */
const storeSecretName = "stores";
const demoKeySecretName = "demo-api-key";
/** Name of each domain's Secret with the stack's ADMIN_TOKEN, the same value in every domain. */
const adminTokenSecretName = "admin-token";
/** Name of each domain's Secret with the stack's PRINCIPAL_SECRET, the same value in every domain. */
const principalSecretName = "principal-secret";

/** The port each store is reached on: in-cluster, or the usual ports of managed services. */
const storePort: Record<StoreKind, number> = { postgres: 5432, redis: 6379, kafka: 9092 };
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

/**
 * The Kubernetes target: a namespace per domain (and one for the router) that denies all
 * traffic by default, the image pushed to the configured registry, every gateway tier and
 * service version as a Workload opened only to its callers, each domain's stores in-cluster
 * (dev) or external (prod, endpoints from a secret), and an Ingress in front of the router.
 */
export function deploy(catalog: Catalog): StackOutputs {
  const settings = kubernetesSettings();
  assertDistinctNamespaces(catalog);
  const port = catalog.containerPort;
  const allDomains = domains(catalog);
  const allServices = services(catalog);
  const at = clusterAddresses(catalog);
  const external = settings.dataStores === "external";
  const externalStores = external
    ? externalData(catalog, (d) => domainStores(catalog, d))
    : undefined;
  const password = external ? undefined : inClusterPostgresPassword(catalog.name);
  const demoKey = demoApiKey();
  const token = adminToken(catalog.name);
  const signingKey = principalSecret(catalog.name);

  const image = new BuiltImage(`${catalog.name}-services`, {
    imageName: `${settings.imageRepository}:latest`,
    push: true,
    buildArgs: { NODE_IMAGE: settings.nodeImage },
    buildNetwork: settings.buildNetwork,
  });

  const routingNs = routingNamespace(catalog);
  const namespaces = new Map(
    [routingNs, ...allDomains.map((d) => domainNamespace(catalog, d.name))].map((name) => [
      name,
      new IsolatedNamespace(name, { labels: { "app.kubernetes.io/part-of": catalog.name } }),
    ]),
  );
  const nsOf = (name: string) => namespaces.get(name)!;

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

  /** Per domain: the Secret with store credentials, and the in-cluster stores if any. */
  const data = new Map(
    allDomains.map((d) => {
      const ns = domainNamespace(catalog, d.name);
      const used = domainStores(catalog, d.name);
      const secretData: Record<string, pulumi.Input<string>> = {};
      if (externalStores) {
        for (const kind of used) {
          const { key, env } = endpointEnv[kind];
          secretData[env] = externalStores.apply((e) => e[d.name]![key]!);
        }
      } else if (used.has("postgres")) {
        secretData[secretEnvKey.databasePassword] = password!;
      }
      const secret = new k8s.core.v1.Secret(
        `${ns}-${storeSecretName}`,
        {
          metadata: { name: storeSecretName, namespace: nsOf(ns).name },
          type: "Opaque",
          stringData: secretValues(secretData),
        },
        { parent: nsOf(ns) },
      );
      const stores = external
        ? undefined
        : new DataStores(
            d.name,
            {
              namespace: ns,
              stores: [...used],
              postgresPassword: used.has("postgres")
                ? { secretName: storeSecretName, key: secretEnvKey.databasePassword }
                : undefined,
              database: d.name,
              clients: Object.fromEntries(
                [...used].map((kind) => [kind, storeClients(catalog, d.name, kind)]),
              ),
              volumeGb: settings.storeVolumeGb,
            },
            { dependsOn: [nsOf(ns), secret] },
          );
      // A stack-wide value in a Secret of the domain's own, as a pod reads Secrets of its
      // namespace only: the operators' token for the gateway's /admin (and monitoring's, where
      // it runs), and the key of what the gateway signs and every service of the domain checks.
      const stackSecret = (name: string, key: string, value: pulumi.Input<string>) =>
        new k8s.core.v1.Secret(
          `${ns}-${name}`,
          {
            metadata: { name, namespace: nsOf(ns).name },
            type: "Opaque",
            stringData: secretValues({ [key]: value }),
          },
          { parent: nsOf(ns) },
        );
      const adminSecret = stackSecret(adminTokenSecretName, envKey.adminToken, token);
      const signingSecret = stackSecret(principalSecretName, envKey.principalSecret, signingKey);
      return [d.name, { ns, secret, stores, adminSecret, signingSecret }] as const;
    }),
  );
  /** `key` from the domain's Secret `name`, and that Secret, which the workload must wait for. */
  const fromStackSecret = (name: string, key: string, secret: pulumi.Resource) => ({
    secretEnv: { [key]: { secretName: name, key } },
    secret,
  });
  const adminTokenOf = (domain: string) =>
    fromStackSecret(adminTokenSecretName, envKey.adminToken, data.get(domain)!.adminSecret);
  const signingOf = (domain: string) =>
    fromStackSecret(principalSecretName, envKey.principalSecret, data.get(domain)!.signingSecret);

  /** What a workload of `domain` that uses `stores` gets: env, secret env, egress. */
  const storeWiring = (domain: string, stores: ReadonlySet<StoreKind>) => {
    const { ns, stores: inCluster } = data.get(domain)!;
    const ref = (key: string): SecretRef => ({ secretName: storeSecretName, key });
    const secretEnv: Record<string, SecretRef> = {};
    const allowTo: PortPeer[] = [];
    const allowExternalPorts: number[] = [];
    const endpoints: DataEndpoints = {};
    // Plain env besides the endpoints: how the clients sign in to an external Kafka.
    const env: Env = {};
    if (inCluster) {
      for (const kind of stores) {
        const key = endpointEnv[kind].key;
        endpoints[key] = inCluster.endpoints[key];
      }
      for (const kind of stores) {
        allowTo.push({
          namespace: ns,
          labels: {
            "app.kubernetes.io/name": `${domain}-${kind}`,
            "app.kubernetes.io/component": kind,
          },
          port: storePort[kind],
        });
      }
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
    return { endpoints, env, secretEnv, allowTo, allowExternalPorts };
  };

  const common = (ns: string) => ({
    namespace: nsOf(ns).name,
    image: image.imageRef,
    port,
    writablePaths: [dataDir, "/tmp"],
    zoneSpread: settings.zoneSpread,
  });
  const dependsOnData = (domain: string): pulumi.Resource[] => {
    const { secret, stores } = data.get(domain)!;
    return stores ? [secret, stores] : [secret];
  };

  // The demo key and the admin token's reference live in the namespace of the api-keys service.
  const authDomain = keyService(catalog).domain;
  const demoKeySecret = demoKey
    ? new k8s.core.v1.Secret(
        `${domainNamespace(catalog, authDomain)}-${demoKeySecretName}`,
        {
          metadata: {
            name: demoKeySecretName,
            namespace: nsOf(domainNamespace(catalog, authDomain)).name,
          },
          type: "Opaque",
          stringData: secretValues({ [envKey.demoApiKey]: demoKey }),
        },
        { parent: nsOf(domainNamespace(catalog, authDomain)) },
      )
    : undefined;

  for (const s of allServices) {
    const ns = domainNamespace(catalog, s.domain);
    const wiring = storeWiring(s.domain, new Set(s.uses));
    const signing = signingOf(s.domain);
    const secretEnv: Record<string, SecretRef> = { ...wiring.secretEnv, ...signing.secretEnv };
    const dependsOn: pulumi.Resource[] = [...dependsOnData(s.domain), signing.secret];
    if (s.role === "api-keys" && demoKeySecret) {
      secretEnv[envKey.demoApiKey] = { secretName: demoKeySecretName, key: envKey.demoApiKey };
      dependsOn.push(demoKeySecret);
    }
    if (s.role === "monitoring") {
      const admin = adminTokenOf(s.domain);
      Object.assign(secretEnv, admin.secretEnv);
      dependsOn.push(admin.secret);
    }
    for (const w of serviceWorkloads(s)) {
      const self: WorkloadRef = { kind: "service", service: s.name, version: w.version };
      const env: Env = {
        ...serviceEnv(catalog, s.name, port, wiring.endpoints, w.version, at),
        ...wiring.env,
      };
      // A service that keeps blobs keeps them on disk here (no S3): every replica must read what
      // another stored, so its replicas share one ReadWriteMany claim as DATA_DIR.
      const blobs = s.blobs
        ? new k8s.core.v1.PersistentVolumeClaim(
            `${w.name}-data`,
            {
              metadata: { name: `${w.name}-data`, namespace: nsOf(ns).name },
              spec: {
                accessModes: ["ReadWriteMany"],
                storageClassName: settings.sharedStorageClass,
                resources: { requests: { storage: `${settings.blobVolumeGb}Gi` } },
              },
            },
            { parent: nsOf(ns) },
          )
        : undefined;
      new Workload(
        w.name,
        {
          ...common(ns),
          args: [entrypoint(s.name)],
          replicas: s.replicas,
          labels: workloadLabels(catalog, w.name, "service"),
          env,
          secretEnv,
          cpuMillis: cpuMillis(s.cpu),
          memoryMi: s.memory,
          allowFrom: allowFrom(self),
          allowTo: [...wiring.allowTo, ...allowTo(self)],
          allowExternalPorts: wiring.allowExternalPorts,
          sharedClaims: blobs ? [{ claimName: blobs.metadata.name, mountPath: dataDir }] : [],
        },
        { dependsOn },
      );
    }
  }

  for (const d of allDomains) {
    const ns = domainNamespace(catalog, d.name);
    const wiring = storeWiring(d.name, gatewayStores);
    const self: WorkloadRef = { kind: "tier", domain: d.name };
    new Workload(
      workloadName.tier(d.name),
      {
        ...common(ns),
        args: [entrypoint("gateway")],
        replicas: d.gateway.replicas,
        labels: workloadLabels(catalog, workloadName.tier(d.name), "gateway"),
        env: {
          ...gatewayEnv(catalog, d.name, at, port, "kubernetes", wiring.endpoints),
          ...wiring.env,
        },
        secretEnv: {
          ...wiring.secretEnv,
          ...adminTokenOf(d.name).secretEnv,
          ...signingOf(d.name).secretEnv,
        },
        cpuMillis: cpuMillis(d.gateway.cpu),
        memoryMi: d.gateway.memory,
        allowFrom: allowFrom(self),
        allowTo: [...allowTo(self), ...wiring.allowTo],
        allowExternalPorts: wiring.allowExternalPorts,
      },
      {
        dependsOn: [
          ...dependsOnData(d.name),
          adminTokenOf(d.name).secret,
          signingOf(d.name).secret,
        ],
      },
    );
  }

  const router = new Workload(workloadName.router, {
    ...common(routingNs),
    args: [entrypoint("router")],
    replicas: catalog.router.replicas,
    labels: workloadLabels(catalog, workloadName.router, "router"),
    env: routerEnv(catalog, at, port),
    cpuMillis: cpuMillis(catalog.router.cpu),
    memoryMi: catalog.router.memory,
    // Only the ingress controller reaches the router, and only monitoring its ops port; it
    // reaches only the tiers.
    allowFrom: [{ namespace: settings.ingressNamespace }],
    ops: { port: catalog.opsPort, allowFrom: allowFrom({ kind: "router" }, "ops") },
    allowTo: allowTo({ kind: "router" }),
  });

  const ingress = new k8s.networking.v1.Ingress(
    `${routingNs}-${workloadName.router}`,
    {
      metadata: {
        name: workloadName.router,
        namespace: nsOf(routingNs).name,
        labels: workloadLabels(catalog, workloadName.router, "router"),
        annotations: ingressNginxAnnotations(catalog),
      },
      spec: {
        ingressClassName: settings.ingressClassName,
        tls: settings.ingressTlsSecret
          ? [{ hosts: [settings.ingressHost!], secretName: settings.ingressTlsSecret }]
          : undefined,
        rules: [
          {
            host: settings.ingressHost,
            http: {
              paths: [
                {
                  path: "/",
                  pathType: "Prefix",
                  backend: { service: { name: router.serviceName, port: { number: port } } },
                },
              ],
            },
          },
        ],
      },
    },
    { parent: nsOf(routingNs) },
  );

  const scheme = settings.ingressTlsSecret ? "https" : "http";
  const url = settings.ingressHost
    ? pulumi.output(`${scheme}://${settings.ingressHost}`)
    : ingress.status.apply((status) => {
        const lb = status?.loadBalancer?.ingress?.[0];
        return lb ? `${scheme}://${lb.hostname ?? lb.ip}` : "";
      });
  const internal = Object.fromEntries(
    allDomains.map((d) => [workloadName.tier(d.name), at.tiers[d.name]!.join(",")] as const),
  );
  return {
    url,
    endpoints: pulumi.all([url, image.imageRef]).apply(([u, ref]): Record<string, string> => ({
      ...(u ? { api: `${u}/v1` } : {}),
      router: clusterUrl(routingNs, workloadName.router, port),
      ...internal,
      // Where the admin token is (the same in every domain namespace), not the token.
      adminTokenSecret: `${domainNamespace(catalog, authDomain)}/${adminTokenSecretName}`,
      image: ref,
    })),
  };
}

/** Secret data with each value marked secret, so that no value reaches the state in plain text. */
function secretValues(
  values: Record<string, pulumi.Input<string>>,
): Record<string, pulumi.Output<string>> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, pulumi.secret(v)]));
}
