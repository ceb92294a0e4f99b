import type { DataEndpoints } from "../../platform/runtimeEnv.ts";
import {
  createDatabase,
  startKafka,
  startPostgres,
  startRedis,
  type TestServer,
} from "../../test/servers/index.ts";

export interface DataStoresArgs {
  /** Start Redis (default true): the gateways share rate limits, verdicts and cached reads in it. */
  redis?: boolean;
  /** Start Kafka (default false): a JVM is slow to start and only some drills need it. */
  kafka?: boolean;
}

/** Real data stores on loopback for one bench run, and how the topology reaches them. */
export interface DataStores {
  data: DataEndpoints;
  /** What runs, for the drill's header line. */
  describe: string;
  stop(): Promise<void>;
}

/**
 * Starts a fresh PostgreSQL (one new database for the run), Redis and, when asked, Kafka, with
 * the same code as the test suite (test/servers), so a bench measures the stores the platform
 * runs on in production rather than the embedded stand-ins of `npm start`.
 */
export async function startDataStores(args: DataStoresArgs = {}): Promise<DataStores> {
  const [postgres, redis, kafka] = await Promise.allSettled([
    startPostgres(),
    args.redis === false ? undefined : startRedis(),
    args.kafka ? startKafka() : undefined,
  ]);
  const started = [postgres, redis, kafka].flatMap((r) =>
    r.status === "fulfilled" && r.value ? [r.value] : [],
  );
  const stop = async () => {
    await Promise.all(started.map((s) => s.stop()));
  };
  try {
    for (const r of [postgres, redis, kafka]) if (r.status === "rejected") throw r.reason;
    const pg = (postgres as PromiseFulfilledResult<TestServer>).value;
    const redisUrl = redis.status === "fulfilled" ? redis.value?.url : undefined;
    const kafkaBrokers = kafka.status === "fulfilled" ? kafka.value?.url : undefined;
    const data: DataEndpoints = {
      databaseUrl: await createDatabase("bench", pg.url),
      redisUrl,
      kafkaBrokers,
    };
    const describe = ["PostgreSQL", redisUrl && "Redis", kafkaBrokers && "Kafka"]
      .filter(Boolean)
      .join(", ");
    return { data, describe, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
