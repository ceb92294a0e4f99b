import { Consumer, MessagesStreamModes, stringDeserializers } from "@platformatic/kafka";

/** Reads `topic` from the start until `until` holds for the values read, or fails after `timeoutMs`. */
export async function readTopic(
  brokers: string,
  topic: string,
  until: (values: string[]) => boolean,
  timeoutMs = 30_000,
): Promise<string[]> {
  const consumer = new Consumer({
    clientId: "test-reader",
    groupId: `test-reader-${topic}-${Date.now()}`,
    bootstrapBrokers: brokers.split(","),
    deserializers: stringDeserializers,
    maxWaitTime: 200,
  });
  const values: string[] = [];
  const timer = setTimeout(() => void consumer.close(true), timeoutMs);
  try {
    const stream = await consumer.consume({
      topics: [topic],
      mode: MessagesStreamModes.EARLIEST,
      autocommit: false,
    });
    for await (const message of stream) {
      values.push(message.value);
      if (until(values)) break;
    }
    await stream.close();
  } finally {
    clearTimeout(timer);
    await consumer.close(true).catch(() => undefined);
  }
  if (!until(values))
    throw new Error(`read ${values.length} message(s) from ${topic} before the time-out`);
  return values;
}

export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new Error(`${name} is not set: run under jest with test/servers/globalSetup.ts`);
  return value;
}
