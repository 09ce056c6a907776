/**
 * Runs a Kafka consumer group over FinFlow CloudEvents. Delivery is at least once: a handler must be idempotent
 * (record the event id in the same transaction as its effect; see processed_events). A message that is not a
 * CloudEvent is logged and skipped so one bad record cannot block a partition.
 */
import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from '../logger';
import type { CloudEvent } from './cloudevent';
import type { TopicName } from './topics';

export interface ConsumerOptions {
  kafka: Kafka;
  log: Logger;
  groupId: string;
  topic: TopicName;
  topicPrefix?: string;
  handle(event: CloudEvent): Promise<void>;
}

export async function startConsumer(opts: ConsumerOptions): Promise<Consumer> {
  const consumer = opts.kafka.consumer({ groupId: opts.groupId });
  await consumer.connect();
  await consumer.subscribe({ topic: (opts.topicPrefix ?? '') + opts.topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message, partition }) => {
      let event: CloudEvent;
      try {
        event = JSON.parse(message.value?.toString() ?? '') as CloudEvent;
        if (event.specversion !== '1.0' || !event.id || !event.type) throw new Error('not a CloudEvent');
      } catch {
        opts.log.error({ groupId: opts.groupId, partition, offset: message.offset }, 'skipping a message that is not a CloudEvent');
        return;
      }
      // A throw leaves the offset uncommitted: kafkajs retries the message.
      await opts.handle(event);
    },
  });
  return consumer;
}
