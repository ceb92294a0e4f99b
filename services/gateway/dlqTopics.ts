/**
 * The Kafka names of a domain's dead-letter queue: the topic parked requests go to, the topic of
 * those that can never be delivered, and the consumer group of the replayers. The AWS stack
 * alarms on the group's lag on the topic, which is the number of requests waiting.
 */
export function dlqTopics(domain: string): { topic: string; poisonTopic: string; groupId: string } {
  return {
    topic: `${domain}.dlq`,
    poisonTopic: `${domain}.dlq.poison`,
    groupId: `${domain}.dlq.replayer`,
  };
}
