import { z } from "zod";

// What the `/v1/<service>/poison` operations answer (billing's, analytics'): the events a consumer
// set aside (consumer.ts `listPoison`), newest first. A file of its own so that the services'
// contracts can publish it without loading the consumer and its Kafka client.

export const poisonedEvent = z
  .object({
    topic: z.string(),
    position: z
      .string()
      .meta({ description: "`partition:offset` (Kafka) or a line's byte offset" }),
    eventId: z.string().nullable(),
    reason: z.string(),
    payload: z.string().meta({ description: "The record as read (its first 100 000 characters)" }),
    poisonedAt: z.iso.datetime(),
  })
  .strict()
  .meta({ id: "PoisonedEvent", description: "An event a consumer could not apply, kept aside" });
export type PoisonedEvent = z.infer<typeof poisonedEvent>;

/** The whole answer: one list, no further pages (`limit` bounds it). */
export const poisonList = z
  .object({ object: z.literal("list"), data: z.array(poisonedEvent) })
  .strict();
