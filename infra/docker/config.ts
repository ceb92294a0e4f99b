import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { generatedSecret, secretSetting, settingValues } from "../platformConfig.ts";
import { StackConfigError } from "../stackConfigError.ts";
import { parseCidr } from "./networks.ts";

// The Docker target's own settings (`platform:*`), validated before any resource is declared so
// that a wrong value fails with the config key in the message. The settings every target shares
// (platform:target) live in infra/stackConfig.ts.

const port = z.coerce
  .number({ error: "must be a port number" })
  .int("must be a whole number")
  .min(1, "must be between 1 and 65535")
  .max(65535, "must be between 1 and 65535");

const settingsSchema = z.object({
  /** Host port of the first router replica; replica i publishes routerPort + i. Default 8080. */
  routerPort: port.default(8080),
  /** Base image of the service image (the Dockerfile's NODE_IMAGE). Default the official slim one. */
  nodeImage: z.string().min(1, "must name an image").default("node:24-bookworm-slim"),
  /**
   * Network for the image build's RUN steps. Unset: the engine's default. `host` on engines
   * started with --bridge=none (scripts/docker/dockerd.sh), where the default has no egress.
   */
  buildNetwork: z.string().min(1).optional(),
  /**
   * The IPv4 range the stack's networks take their /27 subnets from (infra/docker/networks.ts).
   * Default 172.16.0.0/16, beside Docker's own default pools (172.17-31.x, 192.168.x); pick another
   * where that range is in use on the host's networks.
   */
  networkPool: z
    .string()
    .refine(
      (v) => (parseCidr(v)?.bits ?? 99) <= 24,
      "must be an IPv4 CIDR of /24 or wider, e.g. 10.213.0.0/16",
    )
    .default("172.16.0.0/16"),
  /** Image of each domain's Redis; any image with the official one's contract. */
  redisImage: z.string().min(1, "must name an image").default("redis:7"),
  /** Image of each domain's PostgreSQL (POSTGRES_PASSWORD, POSTGRES_USER, POSTGRES_DB). */
  postgresImage: z.string().min(1, "must name an image").default("postgres:16"),
  /** Image of each domain's Kafka broker (apache/kafka's KAFKA_* contract, KRaft). */
  kafkaImage: z.string().min(1, "must name an image").default("apache/kafka:3.9.0"),
});

export type DockerSettings = z.output<typeof settingsSchema>;

/** Every `platform:*` key the Docker target reads, for the shared unknown-key check. */
export const dockerSettingKeys: readonly string[] = [
  ...Object.keys(settingsSchema.shape),
  "postgresPassword",
];

/** Validates raw `platform:*` values (strings, as Pulumi stores them) keyed without the prefix. */
export function parseDockerSettings(raw: Record<string, string | undefined>): DockerSettings {
  const parsed = settingsSchema.safeParse(raw);
  if (!parsed.success) {
    throw new StackConfigError(
      parsed.error.issues.map((i) => `platform:${String(i.path[0])} ${i.message}`),
    );
  }
  return parsed.data;
}

/** Reads and validates the current stack's Docker settings. */
export function dockerSettings(): DockerSettings {
  return parseDockerSettings(settingValues(Object.keys(settingsSchema.shape)));
}

/** Shorter passwords are refused: a Linux host reaches the bridge network, unpublished ports too. */
const minPasswordLength = 12;

/**
 * The PostgreSQL password of every domain's database: the stack secret
 * `platform:postgresPassword` when set, else one the stack generates (a fixed default would be
 * the same on every machine that runs the stack).
 */
export function postgresPassword(prefix: string): pulumi.Output<string> {
  return (
    secretSetting("postgresPassword", (p) =>
      // The containers read it from a single-quoted line of a `node --env-file` file.
      p.length < minPasswordLength || /['\r\n]/.test(p)
        ? `must be at least ${minPasswordLength} characters, on one line, without "'"`
        : undefined,
    ) ?? generatedSecret(`${prefix}-postgres-password`)
  );
}
