import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  INSTALL_HINT,
  freePort,
  makeTempDir,
  repoRoot,
  runToCompletion,
  spawnServer,
  which,
} from "./process.ts";
import type { TestServer } from "./process.ts";

export interface KafkaServerArgs {
  /** Loopback port of the broker's listener; default: a free one. */
  port?: number;
  /** Default 90 s: the JVM is slow to start on a busy 2-core machine. */
  startTimeoutMs?: number;
}

/** The jars that scripts/test-servers/install.sh fetched for the pinned version. */
function kafkaLibs(): string {
  const root = repoRoot();
  const version = readFileSync(join(root, "scripts/test-servers/kafka.version"), "utf8").trim();
  const libs = join(root, ".tools/kafka", version, "libs");
  if (!existsSync(join(libs, `kafka_2.13-${version}.jar`))) {
    throw new Error(`Kafka ${version} is not installed in ${libs}: ${INSTALL_HINT}`);
  }
  return libs;
}

function javaBinary(): string {
  const fromHome = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, "bin", "java") : undefined;
  const java = fromHome !== undefined && existsSync(fromHome) ? fromHome : which("java");
  if (java === undefined) {
    throw new Error(
      `java (17 or later) is not installed: ${INSTALL_HINT} (or 'apt-get install openjdk-17-jre-headless')`,
    );
  }
  return java;
}

async function twoFreePorts(): Promise<[number, number]> {
  const first = await freePort();
  for (;;) {
    const second = await freePort();
    if (second !== first) return [first, second];
  }
}

/** A single KRaft node that is both broker and controller, tuned for tests, not durability. */
function serverProperties(brokerPort: number, controllerPort: number, logDir: string): string {
  return [
    "process.roles=broker,controller",
    "node.id=1",
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${brokerPort},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${brokerPort}`,
    "controller.listener.names=CONTROLLER",
    "inter.broker.listener.name=PLAINTEXT",
    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    `log.dirs=${logDir}`,
    "num.partitions=1",
    "default.replication.factor=1",
    "min.insync.replicas=1",
    "offsets.topic.replication.factor=1",
    "offsets.topic.num.partitions=1",
    "transaction.state.log.replication.factor=1",
    "transaction.state.log.min.isr=1",
    "transaction.state.log.num.partitions=1",
    "share.coordinator.state.topic.replication.factor=1",
    "share.coordinator.state.topic.min.isr=1",
    // A consumer group starts as soon as its first member joins instead of waiting 3 s for more.
    "group.initial.rebalance.delay.ms=0",
    // As on MSK: a topic exists only once the platform created it (services/shared/kafkaTopics.ts).
    "auto.create.topics.enable=false",
    "",
  ].join("\n");
}

// Warnings and errors only, on stdout (which goes to the server's log file).
const LOG4J2_PROPERTIES = [
  "rootLogger.level=WARN",
  "rootLogger.appenderRef.stdout.ref=STDOUT",
  "appender.stdout.type=Console",
  "appender.stdout.name=STDOUT",
  "appender.stdout.layout.type=PatternLayout",
  "appender.stdout.layout.pattern=[%d] %p %m (%c)%n",
  "",
].join("\n");

// A small heap for a 2-core test machine; C1 only, because start-up time matters more here than
// peak throughput.
const JVM_OPTIONS = [
  "-Xms128m",
  "-Xmx512m",
  "-XX:+UseSerialGC",
  "-XX:TieredStopAtLevel=1",
  "-XX:+ExitOnOutOfMemoryError",
  "-Djava.awt.headless=true",
];

async function brokerAnswers(broker: string): Promise<void> {
  // Loaded on demand: @platformatic/kafka is ESM-only, and a jest test file that imports this
  // module only for startRedis/startPostgres/createDatabase must not pay for it or need it.
  const { Admin } = await import("@platformatic/kafka");
  const admin = new Admin({
    clientId: "test-servers-probe",
    bootstrapBrokers: [broker],
    retries: 0,
    timeout: 2000,
  });
  try {
    const metadata = await admin.metadata({ topics: [] });
    if (metadata.brokers.size === 0) throw new Error("metadata lists no broker yet");
  } finally {
    await admin.close().catch(() => undefined);
  }
}

/**
 * Starts the real Apache Kafka broker (KRaft, one combined broker+controller node) on 127.0.0.1
 * with a fresh log dir. The URL is the bootstrap broker, `127.0.0.1:PORT`.
 */
export async function startKafka(args: KafkaServerArgs = {}): Promise<TestServer> {
  const libs = kafkaLibs();
  const java = javaBinary();
  const [brokerPort, controllerPort] =
    args.port !== undefined ? [args.port, await freePort()] : await twoFreePorts();
  const dir = await makeTempDir("kafka");
  const properties = join(dir, "server.properties");
  const log4j = join(dir, "log4j2.properties");
  await writeFile(properties, serverProperties(brokerPort, controllerPort, join(dir, "data")));
  await writeFile(log4j, LOG4J2_PROPERTIES);
  const logFile = join(dir, "kafka.log");
  const classpath = ["-cp", join(libs, "*"), `-Dlog4j2.configurationFile=${log4j}`];
  const timeout = args.startTimeoutMs ?? 90_000;
  // A cluster id is 16 random bytes in unpadded base64url, as `kafka-storage random-uuid` makes,
  // and like Kafka's own it never starts with "-": the storage tool would read that as an option
  // and fail the format ("--cluster-id: expected one argument"), one run in 64.
  let clusterId: string;
  do clusterId = randomBytes(16).toString("base64url");
  while (clusterId.startsWith("-"));

  try {
    await runToCompletion({
      name: "kafka storage format",
      command: java,
      args: [
        ...JVM_OPTIONS,
        ...classpath,
        "kafka.tools.StorageTool",
        "format",
        "-t",
        clusterId,
        "-c",
        properties,
      ],
      dir,
      logFile,
      timeoutMs: timeout,
    });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  const url = `127.0.0.1:${brokerPort}`;
  const stop = await spawnServer({
    name: "kafka",
    command: java,
    args: [...JVM_OPTIONS, ...classpath, "kafka.Kafka", properties],
    dir,
    logFile,
    stopSignal: "SIGTERM",
    ready: () => brokerAnswers(url),
    startTimeoutMs: timeout,
  });
  return { url, stop };
}
