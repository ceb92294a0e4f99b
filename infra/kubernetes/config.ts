import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { envFormat } from "../../platform/runtimeEnv.ts";
import type { Catalog, StoreKind } from "../../platform/catalog/index.ts";
import { domains } from "../../platform/catalog/index.ts";
import type { DataEndpoints } from "../../platform/runtimeEnv.ts";
import { generatedSecret, secretSetting, settingValues } from "../platformConfig.ts";
import { StackConfigError } from "../stackConfigError.ts";

// The Kubernetes target's own settings (`platform:*`), validated before any resource is declared
// so that a wrong value fails with the config key in the message. `nodeImage` and
// `buildNetwork` are shared with the Docker target: both build the same image.

const settingsSchema = z.object({
  /**
   * Repository the service image is pushed to and the cluster pulls from, without a tag, e.g.
   * `ghcr.io/acme/platform-services` or `localhost:5001/platform/services` (kind's local
   * registry). The engine's own login (`docker login`) is used to push.
   */
  imageRepository: z
    .string()
    .regex(
      /^[a-z0-9]+([._-][a-z0-9]+)*(:\d+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)+$/,
      "must be an image repository without a tag, such as registry.example.com/platform/services",
    ),
  /** Base image of the service image (the Dockerfile's NODE_IMAGE). */
  nodeImage: z.string().min(1, "must name an image").default("node:24-bookworm-slim"),
  /** Network for the image build's RUN steps (`host` on engines started with --bridge=none). */
  buildNetwork: z.string().min(1).optional(),
  /**
   * `inCluster` (default, for dev): a single-node Redis, PostgreSQL and Kafka StatefulSet per
   * domain. `external`: the managed endpoints in the secret `platform:externalData`.
   */
  dataStores: z
    .enum(["inCluster", "external"], { error: 'must be "inCluster" or "external"' })
    .default("inCluster"),
  /** IngressClass of the router's Ingress. Unset: the cluster's default class. */
  ingressClassName: z.string().min(1).optional(),
  /** Host name the Ingress answers for. Unset: every host. */
  ingressHost: z
    .string()
    .regex(/^([a-z0-9-]+\.)+[a-z]{2,}$/, "must be a DNS name such as api.example.com")
    .optional(),
  /** TLS Secret (in the routing namespace) for `ingressHost`; needs `ingressHost`. */
  ingressTlsSecret: z.string().min(1).optional(),
  /**
   * Namespace of the ingress controller: the only one whose pods may reach the router.
   * Default `ingress-nginx`, where the ingress-nginx chart installs itself.
   */
  ingressNamespace: z.string().min(1).default("ingress-nginx"),
  /** Size of each in-cluster store's PersistentVolumeClaim in GiB. Default 1. */
  storeVolumeGb: z.coerce.number().int().min(1, "must be at least 1").default(1),
  /**
   * StorageClass of the ReadWriteMany claim that the replicas of a service with catalog `blobs`
   * share (NFS, EFS, CephFS, Filestore...). Unset: the cluster's default class, which must then
   * offer ReadWriteMany, or the claim stays Pending and the service does not start.
   */
  sharedStorageClass: z.string().min(1).optional(),
  /** Size of that shared claim in GiB. Default 10. */
  blobVolumeGb: z.coerce.number().int().min(1, "must be at least 1").default(10),
  /**
   * How the replicas spread over `topology.kubernetes.io/zone`. `soft` (default): preferred, so
   * that pods also schedule on clusters whose nodes have no zone label (kind). `hard`: required,
   * for multi-zone clusters where every node is labelled; elsewhere the pods stay Pending.
   */
  zoneSpread: z.enum(["soft", "hard"], { error: 'must be "soft" or "hard"' }).default("soft"),
  /**
   * With `dataStores: external`, how the clients reach the managed Kafka: `none` (plaintext,
   * port 9092, the default) or `tls` (its TLS listener, port 9094). The NetworkPolicies open that
   * port only. SASL listeners (SCRAM, IAM) are not supported on this target.
   */
  externalKafkaAuth: z.enum(["none", "tls"], { error: 'must be "none" or "tls"' }).default("none"),
  /**
   * Namespace of the cluster's KEDA operator (`keda` with its Helm chart, `kube-system` with
   * AKS's add-on). Set: a service with catalog `queueScaling` scales on its queue as well as on
   * CPU, through a KEDA ScaledObject that reads the depth from the service's ops port. Unset
   * (default): every workload scales on CPU alone, as a plain HorizontalPodAutoscaler can.
   */
  kedaNamespace: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a namespace name such as keda")
    .max(63, "must be a namespace name of at most 63 characters")
    .optional(),
});

export type KubernetesSettings = z.output<typeof settingsSchema>;

/** The secret settings the Kubernetes target reads (besides `settingsSchema`). */
const secretKeys = ["postgresPassword", "externalData", "demoApiKey"] as const;

/** Every `platform:*` key the Kubernetes target reads, for the shared unknown-key check. */
export const kubernetesSettingKeys: readonly string[] = [
  ...Object.keys(settingsSchema.shape),
  ...secretKeys,
];

/** Validates raw `platform:*` values (strings, as Pulumi stores them) keyed without the prefix. */
export function parseKubernetesSettings(
  raw: Record<string, string | undefined>,
): KubernetesSettings {
  const parsed = settingsSchema.safeParse(raw);
  if (!parsed.success) {
    throw new StackConfigError(
      parsed.error.issues.map((i) =>
        i.path[0] === "imageRepository" && raw["imageRepository"] === undefined
          ? "platform:imageRepository is required on Kubernetes: the cluster pulls the service image from it"
          : `platform:${String(i.path[0])} ${i.message}`,
      ),
    );
  }
  if (parsed.data.ingressTlsSecret && !parsed.data.ingressHost) {
    throw new StackConfigError(["platform:ingressTlsSecret needs platform:ingressHost"]);
  }
  return parsed.data;
}

/** Reads and validates the current stack's Kubernetes settings. */
export function kubernetesSettings(): KubernetesSettings {
  return parseKubernetesSettings(settingValues(Object.keys(settingsSchema.shape)));
}

/**
 * The in-cluster PostgreSQL password: the stack secret `platform:postgresPassword` (the same key
 * as on Docker) when set, else one the stack generates, so that no two clusters share one.
 */
export function inClusterPostgresPassword(prefix: string): pulumi.Output<string> {
  return (
    secretSetting("postgresPassword", (p) =>
      p.length < 12 ? "must be at least 12 characters" : undefined,
    ) ?? generatedSecret(`${prefix}-postgres-password`)
  );
}

/** The optional demo API key registered by the auth service at start (`sk-` + 20+ characters). */
export function demoApiKey(): pulumi.Output<string> | undefined {
  return secretSetting("demoApiKey", (k) =>
    envFormat.apiKey.safeParse(k).success
      ? undefined
      : "must be sk- followed by 20 to 200 URL-safe characters",
  );
}

const endpointsSchema = z.object({
  databaseUrl: envFormat.databaseUrl.optional(),
  redisUrl: envFormat.redisUrl.optional(),
  kafkaBrokers: envFormat.kafkaBrokers.optional(),
});

const endpointKey: Record<StoreKind, keyof DataEndpoints> = {
  postgres: "databaseUrl",
  redis: "redisUrl",
  kafka: "kafkaBrokers",
};

/**
 * Checks the external endpoints of every domain against what the catalog's workloads use, and
 * names the first missing or malformed field, e.g. `platform:externalData.identity.databaseUrl`.
 * `used(domain)` is the set of stores a domain's workloads talk to.
 */
export function parseExternalData(
  catalog: Catalog,
  value: unknown,
  used: (domain: string) => ReadonlySet<StoreKind>,
): Record<string, DataEndpoints> {
  const schema = z.record(z.string(), endpointsSchema);
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new StackConfigError(
      parsed.error.issues.map(
        (i) => `platform:externalData.${i.path.map(String).join(".")} ${i.message}`,
      ),
    );
  }
  const problems: string[] = [];
  const known = new Set(domains(catalog).map((d) => d.name));
  for (const name of Object.keys(parsed.data)) {
    if (!known.has(name))
      problems.push(`platform:externalData.${name} is not a domain of the catalog`);
  }
  for (const d of domains(catalog)) {
    for (const kind of used(d.name)) {
      if (!parsed.data[d.name]?.[endpointKey[kind]])
        problems.push(
          `platform:externalData.${d.name}.${endpointKey[kind]} is required: domain ${d.name} uses ${kind}`,
        );
    }
  }
  if (problems.length > 0) throw new StackConfigError(problems);
  return parsed.data;
}

/**
 * The external stores of every domain, a stack secret because the URLs carry credentials:
 * `pulumi config set --secret platform:externalData '{"identity": {"databaseUrl": "postgres://..."}}'`.
 */
export function externalData(
  catalog: Catalog,
  used: (domain: string) => ReadonlySet<StoreKind>,
): pulumi.Output<Record<string, DataEndpoints>> {
  const parse = (text: string) => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new StackConfigError(["platform:externalData must be a JSON object"]);
    }
    return parseExternalData(catalog, value, used);
  };
  const raw = pulumi.runtime.getConfig("platform:externalData");
  if (!raw) {
    throw new StackConfigError([
      "platform:externalData is required with platform:dataStores external: set it with `pulumi config set --secret platform:externalData '<JSON>'`",
    ]);
  }
  return secretSetting("externalData", (text) => {
    parse(text);
    return undefined;
  })!.apply(parse);
}
