/** A database password that can change while the process runs. */
export interface PasswordSource {
  /** The current password: cached, fetched once at a time. */
  get(): Promise<string>;
  /** Counts the passwords read so far: a refusal seen under an older one needs no new read. */
  readonly generation: number;
  /**
   * Forgets the cached password if it is still the one of `generation` (the server refused a
   * connection made with it: it expired or was rotated). Connections refused together cause one
   * read.
   */
  invalidate(generation: number): void;
}

/**
 * A password fetched when first needed, again once it is `maxAgeMs` old, and again when the
 * server refuses it (`invalidate`). `now` is for tests.
 */
export function refreshingPassword(
  fetch: () => Promise<string>,
  maxAgeMs = Infinity,
  now: () => number = Date.now,
): PasswordSource {
  let current: Promise<string> | undefined;
  let fetchedAt = 0;
  let generation = 0;
  return {
    get() {
      if (!current || now() - fetchedAt >= maxAgeMs) {
        generation++;
        fetchedAt = now();
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

/**
 * An RDS IAM authentication token is valid for 15 minutes, and is checked only when a connection
 * signs in: a token 10 minutes old is replaced, which leaves a margin for clocks and slow
 * connects. https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.html
 */
export const IAM_TOKEN_MAX_AGE_MS = 10 * 60_000;

/**
 * Passwords for DATABASE_URL's user that are IAM tokens of this process's credentials (the ECS
 * task role, which holds `rds-db:connect` for that user only). Signing is local: no call to AWS.
 */
export function iamAuthToken(databaseUrl: string, region: string): PasswordSource {
  const url = new URL(databaseUrl);
  return refreshingPassword(async () => {
    // The SDK is imported on the first sign-in: only processes on AWS need it.
    const { Signer } = await import("@aws-sdk/rds-signer");
    return new Signer({
      hostname: url.hostname,
      port: Number(url.port || 5432),
      username: decodeURIComponent(url.username),
      region,
    }).getAuthToken();
  }, IAM_TOKEN_MAX_AGE_MS);
}

/**
 * The server refused the connection's password: PostgreSQL's invalid_password, or RDS's refusal
 * of an IAM token (which it reports as a PAM failure, invalid_authorization_specification).
 */
export function isPasswordRefused(err: unknown): boolean {
  const code = (err as { code?: string } | undefined)?.code;
  return code === "28P01" || code === "28000";
}
