import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { dockerSettingKeys } from "./docker/config.ts";
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

const settingsSchema = z.object({
  target: z.enum(targets, { error: 'must be "aws", "docker" or "kubernetes"' }).default("aws"),
  /** `perZone` (default) keeps egress alive when a zone fails; `single` saves cost in dev. */
  natGateways: z
    .enum(["single", "perZone"], { error: 'must be "single" or "perZone"' })
    .default("perZone"),
  vpcCidr: z
    .string()
    .regex(/^\d{1,3}(\.\d{1,3}){3}\/16$/, "must be an IPv4 /16 block such as 10.0.0.0/16")
    .default("10.0.0.0/16"),
  logRetentionDays: z.coerce
    .number()
    .refine((d) => (logRetentionValues as readonly number[]).includes(d), {
      error: `must be a CloudWatch retention period (${logRetentionValues.join(", ")})`,
    })
    .default(30),
  /** An ACM certificate for the public ALB; when set, port 80 redirects to HTTPS on 443. */
  certificateArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:acm:/, "must be an ACM certificate ARN")
    .optional(),
  /** Protects the databases and the ALB from `pulumi destroy`; dev stacks turn it off. */
  deletionProtection: z.stringbool({ error: 'must be "true" or "false"' }).default(true),
});

export type StackSettings = z.output<typeof settingsSchema>;

/** Validates raw `platform:*` values (strings, as Pulumi stores them) keyed without the prefix. */
export function parseSettings(raw: Record<string, string | undefined>): StackSettings {
  // Each target validates its own keys; here a key is unknown when no target reads it.
  const known = new Set([...Object.keys(settingsSchema.shape), ...dockerSettingKeys]);
  const unknown = Object.keys(raw).filter((k) => raw[k] !== undefined && !known.has(k));
  const parsed = settingsSchema.safeParse(raw);
  const problems = unknown.map((k) => `platform:${k} is not a known setting`);
  if (!parsed.success) {
    for (const issue of parsed.error.issues)
      problems.push(`platform:${String(issue.path[0])} ${issue.message}`);
  }
  if (problems.length > 0 || !parsed.success) throw new StackConfigError(problems);
  return parsed.data;
}

/** Reads and validates the current stack's `platform:*` settings. */
export function stackSettings(): StackSettings {
  const raw: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
    if (key.startsWith("platform:") && key !== "platform:redisAuthToken") raw[key.slice(9)] = value;
  }
  return parseSettings(raw);
}

/**
 * The Redis AUTH token, a stack secret (`pulumi config set --secret platform:redisAuthToken`).
 * ElastiCache allows 16 to 128 printable characters without `@`, `"` or `/`.
 */
export function redisAuthToken(): pulumi.Output<string> {
  const config = new pulumi.Config("platform");
  const token = config.getSecret("redisAuthToken");
  if (token === undefined) {
    throw new StackConfigError([
      "platform:redisAuthToken is required on AWS: set it with `pulumi config set --secret platform:redisAuthToken <16-128 characters>`",
    ]);
  }
  return token.apply((t) => {
    if (!/^[\x21-\x7e]{16,128}$/.test(t) || /[@"/]/.test(t)) {
      throw new StackConfigError([
        'platform:redisAuthToken must be 16 to 128 printable characters without spaces, "@", "\\"" or "/"',
      ]);
    }
    return t;
  });
}
