/**
 * The SQL a service needs, over PostgreSQL (DATABASE_URL set) or an embedded SQLite file (the
 * default, so that `npm start` runs on a fresh machine). Statements use PostgreSQL's `$1`
 * placeholders and the subset of SQL both engines share; each service sees only its own tables
 * (a schema of its own in PostgreSQL, a file of its own in SQLite).
 */
export interface Db {
  readonly engine: "postgres" | "sqlite";
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs `fn` in one transaction; it commits when `fn` resolves and rolls back when it throws. */
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** Opens the service's database: PostgreSQL when a URL is given, else SQLite under `dataDir`. */
export async function openDb(opts: {
  service: string;
  domain: string;
  databaseUrl?: string;
  /** `aws-iam`: sign in as the URL's user with IAM tokens (RDS), which change while running. */
  databaseAuth?: "password" | "aws-iam";
  /** The region of the database, for its IAM tokens. */
  region?: string;
  /** Connections the pool may hold. Default 10. */
  databasePoolMax?: number;
  dataDir: string;
}): Promise<Db> {
  if (opts.databaseUrl) {
    const { openPostgres } = await import("./postgres.ts");
    let password;
    if (opts.databaseAuth === "aws-iam") {
      if (!opts.region) throw new Error("DATABASE_AUTH=aws-iam needs AWS_REGION (the database's)");
      password = (await import("./rotatingPassword.ts")).iamAuthToken(
        opts.databaseUrl,
        opts.region,
      );
    }
    return openPostgres(opts.databaseUrl, opts.service, password, opts.databasePoolMax);
  }
  const { openSqlite } = await import("./sqlite.ts");
  return openSqlite(`${opts.dataDir}/${opts.domain}/${opts.service}.sqlite`);
}
