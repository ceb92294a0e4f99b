import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

export interface DataStoresArgs {
  /**
   * The Docker networks each store joins, under its alias on each; they publish no host port. A
   * store with no network is not run: nothing could reach it.
   */
  networks: Partial<Record<StoreKind, pulumi.Input<string>[]>>;
  /** PostgreSQL superuser password; pass a secret (it stays one in the state). */
  postgresPassword: pulumi.Input<string>;
  /** Database created at first start. Default: the component's name. */
  database?: string;
  /** PostgreSQL user. Default `platform`. */
  user?: string;
  /** Images, by default the official ones this platform is tested with. */
  images?: { redis?: string; postgres?: string; kafka?: string };
  /** JVM heap of the Kafka broker. Default `-Xms256m -Xmx512m`, enough for a local stack. */
  kafkaHeap?: string;
  /** PostgreSQL's `max_connections`. Default the image's (100). */
  postgresMaxConnections?: number;
}

const defaultImages = { redis: "redis:7", postgres: "postgres:16", kafka: "apache/kafka:3.9.0" };
export type StoreKind = keyof typeof defaultImages;
const defaultUser = "platform";

/** The network alias of each store of the DataStores named `name`. */
export function storeAliases(name: string): Record<StoreKind, string> {
  return { redis: `${name}-redis`, postgres: `${name}-postgres`, kafka: `${name}-kafka` };
}

const redisPort = 6379;
const postgresPort = 5432;
const kafkaPort = 9092;

/** Where the stores of the DataStores named `name` answer (the database URL without password). */
export function storeEndpoints(
  name: string,
  database = name,
  user = defaultUser,
): { databaseUrl: string; redisUrl: string; kafkaBrokers: string } {
  const alias = storeAliases(name);
  return {
    redisUrl: `redis://${alias.redis}:${redisPort}`,
    databaseUrl: `postgres://${user}@${alias.postgres}:${postgresPort}/${database}`,
    kafkaBrokers: `${alias.kafka}:${kafkaPort}`,
  };
}

/**
 * One domain's Redis, PostgreSQL and Kafka (a single KRaft broker) as containers with named
 * volumes, so that data outlives container replacement. Each store has a health check and the
 * component's own `pulumi up` waits for it, so programs that depend on the stores start after
 * them. Connection strings carry no password: the PostgreSQL password travels separately (as
 * PGPASSWORD, which `pg` reads by itself) so that the URL can be logged and compared.
 */
export class DataStores extends pulumi.ComponentResource {
  /** `postgres://user@host:5432/database`, without the password. */
  readonly databaseUrl: string;
  readonly redisUrl: string;
  /** `host:port` of the broker, as KAFKA_BROKERS expects. */
  readonly kafkaBrokers: string;
  readonly containerIds: pulumi.Output<string[]>;

  constructor(name: string, args: DataStoresArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:docker:DataStores", name, {}, opts);

    const images = { ...defaultImages, ...args.images };
    const user = args.user ?? defaultUser;
    const database = args.database ?? name;
    const alias = storeAliases(name);
    ({
      redisUrl: this.redisUrl,
      databaseUrl: this.databaseUrl,
      kafkaBrokers: this.kafkaBrokers,
    } = storeEndpoints(name, database, user));

    const store = (
      kind: StoreKind,
      dataPath: string,
      container: Pick<docker.ContainerArgs, "command" | "envs" | "healthcheck">,
    ) => {
      const networks = args.networks[kind] ?? [];
      if (networks.length === 0) return undefined;
      // keepLocally: another domain's stores may use the same image.
      const image = new docker.RemoteImage(
        `${name}-${kind}`,
        { name: images[kind], keepLocally: true },
        { parent: this },
      );
      const volume = new docker.Volume(`${name}-${kind}`, {}, { parent: this });
      return new docker.Container(
        `${name}-${kind}`,
        {
          image: image.imageId,
          ...container,
          networksAdvanced: networks.map((network) => ({ name: network, aliases: [alias[kind]] })),
          volumes: [{ volumeName: volume.name, containerPath: dataPath }],
          restart: "unless-stopped",
          logOpts: { "max-size": "10m", "max-file": "3" },
          wait: true,
          waitTimeout: 180,
        },
        { parent: this },
      );
    };

    const redis = store("redis", "/data", {
      // Append-only file: a restart keeps cached answers, rate-limit windows and idempotency keys.
      command: ["redis-server", "--appendonly", "yes"],
      healthcheck: health(["CMD", "redis-cli", "ping"]),
    });
    const postgres = store("postgres", "/var/lib/postgresql/data", {
      ...(args.postgresMaxConnections === undefined
        ? {}
        : { command: ["postgres", "-c", `max_connections=${args.postgresMaxConnections}`] }),
      envs: [
        `POSTGRES_USER=${user}`,
        `POSTGRES_DB=${database}`,
        pulumi.interpolate`POSTGRES_PASSWORD=${args.postgresPassword}`,
      ],
      healthcheck: health(["CMD", "pg_isready", "-h", "127.0.0.1", "-U", user, "-d", database]),
    });
    const kafka = store("kafka", "/var/lib/kafka/data", {
      // Setting any KAFKA_* variable replaces the image's default configuration, so the whole
      // single-node KRaft setup is spelled out; the advertised name is the network alias.
      envs: [
        "KAFKA_NODE_ID=1",
        "KAFKA_PROCESS_ROLES=broker,controller",
        `KAFKA_LISTENERS=PLAINTEXT://:${kafkaPort},CONTROLLER://:9093`,
        `KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://${this.kafkaBrokers}`,
        "KAFKA_CONTROLLER_LISTENER_NAMES=CONTROLLER",
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "KAFKA_CONTROLLER_QUORUM_VOTERS=1@localhost:9093",
        "KAFKA_LOG_DIRS=/var/lib/kafka/data",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR=1",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR=1",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR=1",
        "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS=0",
        `KAFKA_HEAP_OPTS=${args.kafkaHeap ?? "-Xms256m -Xmx512m"}`,
      ],
      // The check starts a JVM of its own: on a loaded machine that alone has taken over 10 s,
      // five times in a row (the CI run of e3c6df0), and marked a sound broker unhealthy.
      healthcheck: health(
        [
          "CMD",
          "/opt/kafka/bin/kafka-broker-api-versions.sh",
          "--bootstrap-server",
          `127.0.0.1:${kafkaPort}`,
        ],
        "30s",
      ),
    });

    this.containerIds = pulumi.all(
      [redis, postgres, kafka].flatMap((c) => (c === undefined ? [] : [c.id])),
    );
    this.registerOutputs({
      databaseUrl: this.databaseUrl,
      redisUrl: this.redisUrl,
      kafkaBrokers: this.kafkaBrokers,
      containerIds: this.containerIds,
    });
  }
}

function health(tests: string[], timeout = "10s"): docker.types.input.ContainerHealthcheck {
  return { tests, interval: "10s", timeout, startPeriod: "30s", retries: 5 };
}
