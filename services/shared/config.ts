import { z } from "zod";
import { envFormat, envKey } from "../../platform/runtimeEnv.ts";

// Each process validates its environment at start and names the bad variable, so a wrong deploy
// fails at boot with a clear message instead of at the first request.

export class ConfigError extends Error {
  constructor(problems: string[]) {
    super(`invalid environment:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

const urlList = z
  .string()
  .transform((s) =>
    s
      .split(",")
      .map((u) => u.trim())
      .filter(Boolean),
  )
  .pipe(
    z.array(z.url({ protocol: /^https?$/, error: "must be http(s) URLs, comma-separated" })).min(1),
  );

export const fields = {
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  domain: z.string().regex(/^[a-z][a-z0-9-]*$/, "must be a domain name from the catalog"),
  service: z.string().regex(/^[a-z][a-z0-9-]*$/, "must be a service name from the catalog"),
  version: z
    .string()
    .regex(/^v[0-9]+$/, "must look like v1")
    .default("v1"),
  urls: urlList,
  databaseUrl: envFormat.databaseUrl.optional(),
  databasePoolMax: z.coerce.number().int().min(1).max(100, "must be 1 to 100").default(10),
  databaseAuth: envFormat.databaseAuth.default("password"),
  redisUrl: envFormat.redisUrl.optional(),
  kafkaBrokers: envFormat.kafkaBrokers.optional(),
  apiKey: envFormat.apiKey.optional(),
  dataDir: z.string().min(1).default(".run/data"),
  /** The stack's key for what the gateways sign (principal.ts, signing.ts). */
  principalSecret: z.string().min(32, "must be at least 32 characters"),
  proxyHops: z.coerce.number().int().min(0).max(10).default(1),
  /** Replicas of a group of processes; more than 8 of each would be 128 local processes. */
  replicas: z.coerce
    .number({ error: "must be a whole number from 1 to 8" })
    .int("must be a whole number from 1 to 8")
    .min(1, "must be a whole number from 1 to 8")
    .max(8, "must be a whole number from 1 to 8"),
  /** Bytes of request bodies a gateway replica holds at once (requestBody.ts); 1 KiB to 4 GiB. */
  bufferedBodyBytes: z.coerce
    .number()
    .int()
    .min(1024, "must be at least 1024 bytes")
    .max(4 * 1024 ** 3, "must be at most 4 GiB")
    .optional(),
  /** Milliseconds a client may take to send its headers, and its whole request (http.ts). */
  headersTimeoutMs: z.coerce.number().int().min(100, "must be at least 100 ms").optional(),
  requestTimeoutMs: z.coerce.number().int().min(100, "must be at least 100 ms").optional(),
  /** A token or password: long enough to resist guessing. */
  secret: z.string().min(16, "must be at least 16 characters").optional(),
};

/** Reads `shape`'s keys from the environment (by their env names) and validates them together. */
export function loadEnv<S extends z.ZodRawShape>(
  shape: S,
  names: { [K in keyof S]: string },
  env: NodeJS.ProcessEnv = process.env,
): z.output<z.ZodObject<S>> {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(shape)) {
    const value = env[names[key as keyof S]];
    raw[key] = value === "" ? undefined : value;
  }
  const parsed = z.object(shape).safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const key = String(i.path[0]);
        return `${names[key as keyof S] ?? key}: ${i.message}`;
      }),
    );
  }
  return parsed.data;
}

export { envKey };
