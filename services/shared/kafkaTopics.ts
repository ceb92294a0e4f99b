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
  opts: { partitions?: number; replicas?: number; clientId?: string } = {},
): Promise<void> {
  const admin = new Admin({
    clientId: opts.clientId ?? "topics-admin",
    ...kafkaClientOptions(brokers),
  });
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length === 0) return;
    await admin
      .createTopics({
        topics: missing,
        partitions: opts.partitions ?? DEFAULT_PARTITIONS,
        // -1: the broker's default replication factor (3 on a multi-zone MSK cluster).
        replicas: opts.replicas ?? -1,
      })
      .catch(async (err: unknown) => {
        // Another replica may have created them meanwhile.
        const now = new Set(await admin.listTopics());
        if (missing.some((t) => !now.has(t))) throw err;
      });
  } finally {
    await admin.close().catch(() => undefined);
  }
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
