import { existsSync, readFileSync, readdirSync } from "node:fs";
import { chown, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import pg from "pg";
import {
  INSTALL_HINT,
  freePort,
  makeTempDir,
  runToCompletion,
  spawnServer,
  which,
} from "./process.ts";
import type { TestServer } from "./process.ts";

export interface PostgresServerArgs {
  /** Loopback port; default: a free one. */
  port?: number;
  /** Default 30 s (initdb included). */
  startTimeoutMs?: number;
}

/** The superuser that initdb creates; every URL names it. */
export const POSTGRES_USER = "postgres";

/** Debian's layout first (/usr/lib/postgresql/<major>/bin, newest major), then PATH. */
function postgresBinDir(): string {
  const root = "/usr/lib/postgresql";
  const majors = existsSync(root)
    ? readdirSync(root)
        .filter((major) => existsSync(join(root, major, "bin", "initdb")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (majors.length > 0) return join(root, majors[0], "bin");
  const initdb = which("initdb");
  if (initdb !== undefined) return dirname(initdb);
  throw new Error(
    `PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): ${INSTALL_HINT} (or 'apt-get install postgresql')`,
  );
}

/** PostgreSQL refuses to run as root, so root runs it as the `postgres` user. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  // /etc/passwd lines are name:password:uid:gid:...; the Debian package creates a local user.
  const entry = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .map((line) => line.split(":"))
    .find((fields) => fields[0] === POSTGRES_USER);
  if (entry === undefined) {
    throw new Error(
      `PostgreSQL cannot run as root and there is no '${POSTGRES_USER}' user: ${INSTALL_HINT}`,
    );
  }
  return { uid: Number(entry[2]), gid: Number(entry[3]) };
}

async function selectOne(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    const result = await client.query<{ one: number }>("SELECT 1 AS one");
    if (result.rows[0]?.one !== 1) throw new Error("SELECT 1 did not answer 1");
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A group role whose members log in with a password; tests create it and its members. */
export const PASSWORD_LOGIN_ROLE = "password_login";

/**
 * Starts a real PostgreSQL on 127.0.0.1 with a fresh cluster (trust auth but for members of
 * PASSWORD_LOGIN_ROLE, durability off: the data is thrown away) in a temp dir. The URL names the
 * `postgres` database.
 */
export async function startPostgres(args: PostgresServerArgs = {}): Promise<TestServer> {
  const bin = postgresBinDir();
  const user = serverUser();
  const port = args.port ?? (await freePort());
  const dir = await makeTempDir("postgres");
  if (user !== undefined) await chown(dir, user.uid, user.gid);
  const data = join(dir, "data");
  const logFile = join(dir, "postgres.log");
  const asUser = { dir, logFile, uid: user?.uid, gid: user?.gid };

  try {
    await runToCompletion({
      ...asUser,
      name: "postgres initdb",
      command: join(bin, "initdb"),
      args: [
        "-D",
        data,
        "-U",
        POSTGRES_USER,
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--no-locale",
        "--no-sync",
      ],
      timeoutMs: args.startTimeoutMs ?? 30_000,
    });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  // Members of PASSWORD_LOGIN_ROLE must give their password, as on RDS (the tests of rotated
  // passwords need a server that checks them); every other role is trusted. First match wins.
  const hba = join(data, "pg_hba.conf");
  await writeFile(
    hba,
    `host all +${PASSWORD_LOGIN_ROLE} 127.0.0.1/32 scram-sha-256\n${await readFile(hba, "utf8")}`,
  );

  const url = `postgres://${POSTGRES_USER}@127.0.0.1:${port}/postgres`;
  const stop = await spawnServer({
    ...asUser,
    name: "postgres",
    command: join(bin, "postgres"),
    args: [
      "-D",
      data,
      "-p",
      String(port),
      "-h",
      "127.0.0.1",
      // The socket goes in the temp dir: /var/run/postgresql may not exist or be writable.
      "-k",
      dir,
      "-c",
      "fsync=off",
      "-c",
      "synchronous_commit=off",
      "-c",
      "full_page_writes=off",
      "-c",
      "max_connections=200",
    ],
    // SIGINT is PostgreSQL's "fast" shutdown; SIGTERM would wait for every client to leave.
    stopSignal: "SIGINT",
    ready: () => selectOne(url),
    startTimeoutMs: args.startTimeoutMs ?? 30_000,
  });
  return { url, stop };
}
