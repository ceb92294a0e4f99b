import { Admin } from "@platformatic/kafka";
import { kafkaClientOptions } from "./kafkaClient.ts";

/** Partitions of a topic the platform creates: room for three replicas of a consumer group. */
export const DEFAULT_PARTITIONS = 3;

/**
 * Creates those of `topics` that do not exist yet. Nothing may count on the broker to create a
 * topic on first use: MSK, the AWS target, has `auto.create.topics.enable=false`, and so has the
 * test suite's Kafka (test/servers/kafka.ts) so that the tests see what MSK does.
 */
export async function createTopics(
  brokers: string,
  topics: readonly string[],
  opts: TopicOptions & { clientId?: string } = {},
): Promise<void> {
  const admin = new Admin({
    clientId: opts.clientId ?? "topics-admin",
    ...kafkaClientOptions(brokers),
  });
  try {
    await createMissingTopics(admin, topics, opts);
  } finally {
    await admin.close().catch(() => undefined);
  }
}

export interface TopicOptions {
  /** Default `DEFAULT_PARTITIONS`. */
  partitions?: number;
  /** Default -1: the broker's default replication factor (3 on a multi-zone MSK cluster). */
  replicas?: number;
}

/** `createTopics` with an admin client the caller holds (and closes). */
export async function createMissingTopics(
  admin: Admin,
  topics: readonly string[],
  opts: TopicOptions = {},
): Promise<void> {
  const missing = async () => {
    const existing = new Set(await admin.listTopics());
    return topics.filter((t) => !existing.has(t));
  };
  const todo = await missing();
  if (todo.length === 0) return;
  await admin
    .createTopics({
      topics: todo,
      partitions: opts.partitions ?? DEFAULT_PARTITIONS,
      replicas: opts.replicas ?? -1,
    })
    .catch(async (err: unknown) => {
      // Another replica (or a producer) may have created them meanwhile.
      if ((await missing()).length > 0) throw err;
    });
}

/**
 * `ensure(topic)` creates the topic once per process (one admin round trip per topic, not per
 * send); a failed attempt is retried by the next call.
 */
export function topicEnsurer(brokers: string, clientId: string): (topic: string) => Promise<void> {
  const ready = new Map<string, Promise<void>>();
  return (topic) => {
    let pending = ready.get(topic);
    if (!pending) {
      pending = createTopics(brokers, [topic], { clientId }).catch((err: unknown) => {
        ready.delete(topic);
        throw err;
      });
      ready.set(topic, pending);
    }
    return pending;
  };
}
