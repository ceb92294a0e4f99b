import { appendFile, mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { kafkaClientOptions } from "./kafkaClient.ts";

/** An event as it travels on the bus: `id` lets consumers drop the duplicates of at-least-once. */
export interface PlatformEvent {
  id: string;
  type: string;
  at: string;
  data: unknown;
}

/** Publishes domain events: to Kafka when KAFKA_BROKERS is set, else to a JSON-lines file. */
export interface EventBus {
  readonly kind: "kafka" | "file";
  publish(topic: string, messages: readonly { key: string; event: PlatformEvent }[]): Promise<void>;
  close(): Promise<void>;
}

export function kafkaBus(brokers: string, clientId: string): EventBus {
  const options = kafkaClientOptions(brokers);
  // The Kafka client is the largest package a service could load (bench/README.md, issue 21):
  // imported here, only by a process that is given brokers.
  const client = Promise.all([import("@platformatic/kafka"), import("./kafkaTopics.ts")]).then(
    ([{ Producer, stringSerializers }, { topicEnsurer }]) => ({
      producer: new Producer({
        clientId,
        ...options,
        serializers: stringSerializers,
        // Wait for the in-sync replicas: an event the outbox marks as sent must not be lost.
        acks: -1,
      }),
      ensureTopic: topicEnsurer(brokers, `${clientId}-topics`),
    }),
  );
  // A failure to load or build the client surfaces at the first publish, not as a crash before.
  client.catch(() => undefined);
  return {
    kind: "kafka",
    async publish(topic, messages) {
      const { producer, ensureTopic } = await client;
      await ensureTopic(topic);
      await producer.send({
        messages: messages.map((m) => ({ topic, key: m.key, value: JSON.stringify(m.event) })),
      });
    },
    async close() {
      await (await client).producer.close();
    },
  };
}

/** The embedded default: one file per topic, so that events stay inspectable on a laptop. */
export function fileBus(dir: string): EventBus {
  return {
    kind: "file",
    async publish(topic, messages) {
      const file = `${dir}/${topic}.jsonl`;
      await mkdir(dirname(file), { recursive: true });
      await appendFile(file, messages.map((m) => `${JSON.stringify(m.event)}\n`).join(""));
    },
    close: async () => undefined,
  };
}

/** Where the file bus keeps a process's topics, one JSON-lines file each, under its DATA_DIR. */
export function eventsDirOf(dataDir: string): string {
  return `${dataDir}/events`;
}

export function openEventBus(
  kafkaBrokers: string | undefined,
  clientId: string,
  dataDir: string,
): EventBus {
  return kafkaBrokers ? kafkaBus(kafkaBrokers, clientId) : fileBus(eventsDirOf(dataDir));
}
