import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { isSixteen } from "../components/aws/network.ts";
import { ECR_IMAGE } from "../components/aws/serviceImage.ts";
import { MSK_REFUSED_ZONE_IDS } from "./aws/zones.ts";
import { dockerSettingKeys } from "./docker/config.ts";
import { kubernetesSettingKeys } from "./kubernetes/config.ts";
import { allSettingValues, secretSetting } from "./platformConfig.ts";
import { StackConfigError } from "./stackConfigError.ts";

export { StackConfigError };

// The stack's own settings (`platform:*` in Pulumi.<stack>.yaml), validated in one place so a
// wrong value fails before any resource is planned, with a message that names the config key.
// Topology facts (services, replicas, zones) live in the catalog, not here: these are the knobs
// that differ between stacks of the same topology. Pulumi.yaml documents the same keys.

export const targets = ["aws", "docker", "kubernetes"] as const;
export type Target = (typeof targets)[number];

/** CloudWatch Logs accepts only these retention periods (days). */
const logRetentionValues = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
  3653,
] as const;

const ecrImage = z
  .string()
  .regex(
    ECR_IMAGE,
    "must be an ECR image pinned by digest: <account>.dkr.ecr.<region>.amazonaws.com/<repository>@sha256:<64 hex digits>",
  );

const settingsSchema = z.object({
  target: z.enum(targets, { error: 'must be "aws", "docker" or "kubernetes"' }).default("aws"),
  /** `perZone` (default) keeps egress alive when a zone fails; `single` saves cost in dev. */
  natGateways: z
    .enum(["single", "perZone"], { error: 'must be "single" or "perZone"' })
    .default("perZone"),
  vpcCidr: z
    .string()
    .refine(isSixteen, "must be an IPv4 /16 block such as 10.0.0.0/16")
    .default("10.0.0.0/16"),
  logRetentionDays: z.coerce
    .number()
    .refine((d) => (logRetentionValues as readonly number[]).includes(d), {
      error: `must be a CloudWatch retention period (${logRetentionValues.join(", ")})`,
    })
    .default(30),
  /**
   * Zone IDs to use, comma-separated (`use1-az1,use1-az2`); the first `catalog.zones` are used.
   * IDs, not names: a name (us-east-1a) maps to a different zone in each account, and AWS states
   * which zones a service refuses by ID. Unset: the region's first zones that MSK accepts.
   */
  availabilityZones: z
    .string()
    .regex(
      /^[a-z]+[0-9]+-az[0-9]+(,[a-z]+[0-9]+-az[0-9]+)+$/,
      "must list 2 or more zone IDs, comma-separated (use1-az1,use1-az2)",
    )
    .transform((list) => list.split(","))
    .refine((ids) => !ids.some((id) => MSK_REFUSED_ZONE_IDS.includes(id)), {
      error: `must not list ${MSK_REFUSED_ZONE_IDS.join(" or ")}, where MSK places no brokers`,
    })
    .optional(),
  /** An existing ACM certificate for the public ALB; when set, port 80 redirects to HTTPS. */
  certificateArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:acm:/, "must be an ACM certificate ARN")
    .optional(),
  /** Public name of the API; with `hostedZoneId`, the stack issues its certificate and DNS record. */
  domainName: z
    .string()
    .regex(/^([a-z0-9-]+\.)+[a-z]{2,}$/, "must be a DNS name such as api.example.com")
    .optional(),
  /**
   * Route 53 public hosted zone that holds `domainName`. AWS's ids start with Z by custom, not
   * by any documented rule (the API's type is up to 32 characters), and emulators' do not.
   */
  hostedZoneId: z
    .string()
    .regex(
      /^[A-Z0-9]{5,32}$/,
      "must be a Route 53 hosted zone id (Z0123456789ABC: capitals and digits)",
    )
    .optional(),
  /** Protects the databases and the ALB from `pulumi destroy`; dev stacks turn it off. */
  deletionProtection: z.stringbool({ error: 'must be "true" or "false"' }).default(true),
  /** A standby RDS instance in another zone, promoted automatically on failure. */
  multiAzDatabase: z.stringbool({ error: 'must be "true" or "false"' }).default(true),
  /** A WAF web ACL (AWS managed rules and a per-IP rate rule) in front of the ALB. */
  waf: z.stringbool({ error: 'must be "true" or "false"' }).default(true),
  /** Requests per client IP in 5 minutes before the WAF blocks it. Default 2000. */
  wafRateLimit: z.coerce.number().int().min(100, "must be at least 100").default(2000),
  /** `provisioned` MSK brokers (one per zone) or `serverless` MSK (no brokers to size). */
  kafka: z
    .enum(["provisioned", "serverless"], { error: 'must be "provisioned" or "serverless"' })
    .default("provisioned"),
  /** Each ECS service may scale out to this many times its catalog replica count. Default 3. */
  maxScaleFactor: z.coerce.number().int().min(1).max(10, "must be 1 to 10").default(3),
  /**
   * Minutes `pulumi up` waits for each ECS service to reach a steady state before it fails
   * (every task running and passing its health checks). Default 15.
   */
  steadyStateTimeoutMinutes: z.coerce
    .number()
    .int("must be a whole number of minutes")
    .min(5, "must be 5 to 120 minutes")
    .max(120, "must be 5 to 120 minutes")
    .default(15),
  /** Email address subscribed to the alarm topic (the subscription must be confirmed). */
  alarmEmail: z.email("must be an email address").optional(),
  /**
   * An image already pushed to ECR, pinned by digest, that the stack deploys instead of building
   * one from the checkout: for pipelines that build and scan once and promote the digest.
   */
  serviceImage: ecrImage.optional(),
  /**
   * With `serviceImage`: the same build's `media` variant (the Dockerfile's target `media`),
   * which the catalog's `media: true` services run.
   */
  mediaImage: ecrImage.optional(),
});

export type StackSettings = z.output<typeof settingsSchema>;

/**
 * Every `platform:*` key the program reads, without the prefix: each target validates its own,
 * and a key is unknown when no target reads it. Pulumi.yaml declares exactly these.
 */
export const settingKeys: readonly string[] = [
  ...new Set([
    ...Object.keys(settingsSchema.shape),
    "redisAuthToken",
    ...dockerSettingKeys,
    ...kubernetesSettingKeys,
  ]),
];

/** Settings that only make sense together; each problem names a key. */
function crossChecks(settings: StackSettings): string[] {
  const problems: string[] = [];
  if (settings.domainName && !settings.hostedZoneId && !settings.certificateArn) {
    problems.push(
      "platform:domainName needs platform:hostedZoneId (to issue its certificate) or platform:certificateArn",
    );
  }
  if (settings.hostedZoneId && !settings.domainName) {
    problems.push("platform:hostedZoneId needs platform:domainName");
  }
  if (settings.mediaImage && !settings.serviceImage) {
    problems.push(
      "platform:mediaImage needs platform:serviceImage (the stack builds both, or deploys both)",
    );
  }
  return problems;
}

/** Validates raw `platform:*` values (strings, as Pulumi stores them) keyed without the prefix. */
export function parseSettings(raw: Record<string, string | undefined>): StackSettings {
  const known = new Set(settingKeys);
  const unknown = Object.keys(raw).filter((k) => raw[k] !== undefined && !known.has(k));
  const parsed = settingsSchema.safeParse(raw);
  const problems = unknown.map((k) => `platform:${k} is not a known setting`);
  if (!parsed.success) {
    for (const issue of parsed.error.issues)
      problems.push(`platform:${String(issue.path[0])} ${issue.message}`);
  }
  if (parsed.success) problems.push(...crossChecks(parsed.data));
  if (problems.length > 0 || !parsed.success) throw new StackConfigError(problems);
  return parsed.data;
}

/** Reads and validates the current stack's `platform:*` settings. */
export function stackSettings(): StackSettings {
  return parseSettings(allSettingValues());
}

/**
 * The Redis AUTH token override, a stack secret
 * (`pulumi config set --secret platform:redisAuthToken ...`). Unset, each domain generates its
 * own token into Secrets Manager. ElastiCache allows 16 to 128 printable characters without `@`,
 * `"` or `/`.
 */
export function redisAuthToken(): pulumi.Output<string> | undefined {
  return secretSetting("redisAuthToken", (t) =>
    /^[\x21-\x7e]{16,128}$/.test(t) && !/[@"/]/.test(t)
      ? undefined
      : 'must be 16 to 128 printable characters without spaces, "@", "\\"" or "/"',
  );
}
