import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { DataStores } from "../components/kubernetes/dataStores.ts";
import { IsolatedNamespace } from "../components/kubernetes/isolatedNamespace.ts";
import { Workload } from "../components/kubernetes/workload.ts";
import { adminToken } from "../infra/adminToken.ts";
import {
  demoApiKey,
  externalData,
  inClusterPostgresPassword,
  kubernetesSettings,
} from "../infra/kubernetes/config.ts";
import type { SecretValue } from "../infra/kubernetes/plan.ts";
import { planKubernetes } from "../infra/kubernetes/plan.ts";
import { workloadImages } from "../infra/workloadImages.ts";
import { domainStores } from "../infra/kubernetes/topology.ts";
import { principalSecret } from "../infra/principalSecret.ts";
import type { Catalog } from "../platform/catalog/index.ts";
import { IMAGE_DATA_DIR } from "../platform/runtimeEnv.ts";
import type { StackOutputs } from "./outputs.ts";

/**
 * The Kubernetes target (the plan: infra/kubernetes/plan.ts): a namespace per domain (and one
 * for the router) that denies all traffic by default, the image (and its media variant) pushed
 * to the configured registry, every gateway tier and service version as a Workload opened only
 * to its callers, each domain's stores in-cluster (dev) or external (prod, endpoints from a
 * secret), and an Ingress in front of the router.
 */
export function deploy(catalog: Catalog): StackOutputs {
  const settings = kubernetesSettings();
  const demoKey = demoApiKey();
  const plan = planKubernetes(catalog, settings, { demoApiKey: demoKey !== undefined });
  const externalStores =
    settings.dataStores === "external"
      ? externalData(catalog, (d) => domainStores(catalog, d))
      : undefined;
  const password =
    settings.dataStores === "external" ? undefined : inClusterPostgresPassword(catalog.name);
  const token = adminToken(catalog.name);
  const signingKey = principalSecret(catalog.name);
  const valueOf = (v: SecretValue): pulumi.Input<string> => {
    switch (v.of) {
      case "databasePassword":
        return password!;
      case "adminToken":
        return token;
      case "principalSecret":
        return signingKey;
      case "demoApiKey":
        return demoKey!;
      case "externalEndpoint":
        return externalStores!.apply((e) => e[v.domain]![v.endpoint]!);
    }
  };

  const images = workloadImages(catalog.name, plan.workloads, (variant, commit) => {
    // `latest` for the checkout's image, the commit for a sourced version's; `-media` after it
    // for the media variant.
    const suffix = variant === "services" ? "" : `-${variant}`;
    return {
      imageName: commit
        ? commit.apply((c) => `${settings.imageRepository}:${c.slice(0, 12)}${suffix}`)
        : `${settings.imageRepository}:latest${suffix}`,
      push: true,
      buildArgs: { NODE_IMAGE: settings.nodeImage },
      buildNetwork: settings.buildNetwork,
    };
  });
  const image = images.checkout.get("services")!;
  const namespaces = new Map(
    plan.namespaces.map((name) => [
      name,
      new IsolatedNamespace(name, { labels: { "app.kubernetes.io/part-of": catalog.name } }),
    ]),
  );
  const nsOf = (name: string) => namespaces.get(name)!;

  const secrets = new Map<string, k8s.core.v1.Secret>();
  const stores = new Map<string, DataStores>();
  for (const d of plan.domains) {
    for (const s of d.secrets) {
      secrets.set(
        s.resourceName,
        new k8s.core.v1.Secret(
          s.resourceName,
          {
            metadata: { name: s.name, namespace: nsOf(s.namespace).name },
            type: "Opaque",
            // Each value marked secret, so that none reaches the state in plain text.
            stringData: Object.fromEntries(
              Object.entries(s.data).map(([key, v]) => [key, pulumi.secret(valueOf(v))]),
            ),
          },
          { parent: nsOf(s.namespace) },
        ),
      );
    }
    if (d.stores) {
      stores.set(
        d.domain,
        new DataStores(
          d.domain,
          {
            namespace: d.namespace,
            stores: d.stores.kinds,
            postgresPassword: d.stores.postgresPassword,
            database: d.domain,
            clients: d.stores.clients,
            volumeGb: d.stores.volumeGb,
          },
          { dependsOn: [nsOf(d.namespace), secrets.get(d.stores.secret)!] },
        ),
      );
    }
  }

  const workloads = new Map(
    plan.workloads.map((w) => {
      const claim = w.sharedClaim
        ? new k8s.core.v1.PersistentVolumeClaim(
            w.sharedClaim.name,
            {
              metadata: { name: w.sharedClaim.name, namespace: nsOf(w.namespace).name },
              spec: {
                accessModes: ["ReadWriteMany"],
                storageClassName: w.sharedClaim.storageClass,
                resources: { requests: { storage: `${w.sharedClaim.gb}Gi` } },
              },
            },
            { parent: nsOf(w.namespace) },
          )
        : undefined;
      const workload = new Workload(
        w.name,
        {
          namespace: nsOf(w.namespace).name,
          image: images.of(w).imageRef,
          port: catalog.containerPort,
          writablePaths: [IMAGE_DATA_DIR, "/tmp"],
          zoneSpread: settings.zoneSpread,
          args: [w.program],
          replicas: w.replicas,
          labels: w.labels,
          env: w.env,
          secretEnv: w.secretEnv,
          cpuMillis: w.cpuMillis,
          memoryMi: w.memoryMi,
          allowFrom: w.allowFrom,
          ops: w.ops,
          queueScaling: w.queueScaling,
          allowTo: w.allowTo,
          allowExternalPorts: w.allowExternalPorts,
          sharedClaims: claim
            ? [{ claimName: claim.metadata.name, mountPath: IMAGE_DATA_DIR }]
            : [],
        },
        {
          dependsOn: [
            ...w.waitsFor.secrets.map((name) => secrets.get(name)!),
            ...(w.waitsFor.storesOf ? [stores.get(w.waitsFor.storesOf)!] : []),
          ],
        },
      );
      return [w.name, workload] as const;
    }),
  );

  const routerWorkload = plan.workloads.find((w) => w.kind === "router")!;
  const { ingress: spec } = plan;
  const ingress = new k8s.networking.v1.Ingress(
    spec.resourceName,
    {
      metadata: {
        name: spec.name,
        namespace: nsOf(spec.namespace).name,
        labels: spec.labels,
        annotations: spec.annotations,
      },
      spec: {
        ingressClassName: spec.className,
        tls: spec.tlsSecret ? [{ hosts: [spec.host!], secretName: spec.tlsSecret }] : undefined,
        rules: [
          {
            host: spec.host,
            http: {
              paths: [
                {
                  path: "/",
                  pathType: "Prefix",
                  backend: {
                    service: {
                      name: workloads.get(routerWorkload.name)!.serviceName,
                      port: { number: catalog.containerPort },
                    },
                  },
                },
              ],
            },
          },
        ],
      },
    },
    { parent: nsOf(spec.namespace) },
  );

  const scheme = spec.tlsSecret ? "https" : "http";
  const url = spec.host
    ? pulumi.output(`${scheme}://${spec.host}`)
    : ingress.status.apply((status) => {
        const lb = status?.loadBalancer?.ingress?.[0];
        return lb ? `${scheme}://${lb.hostname ?? lb.ip}` : "";
      });
  return {
    url,
    endpoints: pulumi.all([url, image.imageRef]).apply(([u, ref]): Record<string, string> => ({
      ...(u ? { api: `${u}/v1` } : {}),
      ...plan.endpoints,
      image: ref,
    })),
  };
}
