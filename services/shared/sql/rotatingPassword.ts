import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";

/** A database password that can change while the process runs. */
export interface PasswordSource {
  /** The current password: cached, fetched once at a time. */
  get(): Promise<string>;
  /** Counts the passwords read so far: a refusal seen under an older one needs no new read. */
  readonly generation: number;
  /**
   * Forgets the cached password if it is still the one of `generation` (the server refused a
   * connection made with it: it was rotated). Connections refused together cause one read.
   */
  invalidate(generation: number): void;
}

/**
 * The password of an RDS-managed secret (the `password` field of its JSON). RDS rotates it (every
 * 7 days by default): a password read once at start, as PGPASSWORD injected by ECS is, would
 * stop new connections after the first rotation. `fetch` is for tests.
 */
export function secretPassword(
  secretArn: string,
  fetch: () => Promise<string> = defaultFetch(secretArn),
): PasswordSource {
  let current: Promise<string> | undefined;
  let generation = 0;
  return {
    get() {
      if (!current) {
        generation++;
        current = fetch().catch((err: unknown) => {
          current = undefined;
          throw err;
        });
      }
      return current;
    },
    get generation() {
      return generation;
    },
    invalidate(refused) {
      if (refused === generation) current = undefined;
    },
  };
}

function defaultFetch(secretArn: string): () => Promise<string> {
  // The AWS SDK is imported on the first read: postgres.ts imports this module in every process
  // that uses PostgreSQL, and only those given a secret ARN need the SDK.
  let client: SecretsManagerClient | undefined;
  return async () => {
    const { readSecretField, secretsClient } = await import("../awsSecrets.ts");
    client ??= secretsClient(secretArn);
    return readSecretField(client, secretArn, "password");
  };
}

/** PostgreSQL's invalid_password: the connection was refused for its password. */
export function isPasswordRefused(err: unknown): boolean {
  return (err as { code?: string } | undefined)?.code === "28P01";
}
