import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { Config } from '../../platform/config';
import { ensureTopics } from '../../platform/events/topics';
import { eventually } from './eventually';

/**
 * Creates this run's private copies of FinFlow's topics (KAFKA_TOPIC_PREFIX), or, given `prefix`, a file's own
 * copies (a file that deletes its topics afterwards must not delete the ones other files use).
 */
export async function ensureTestTopics(kafka: Kafka, cfg: Config, prefix = cfg.KAFKA_TOPIC_PREFIX): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, { prefix });
  } finally {
    await admin.disconnect();
  }
}

/** Deletes every topic whose name starts with `prefix` (a file's own topics, once it is done with them). */
export async function deleteTopicsWithPrefix(kafka: Kafka, prefix: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
}

/**
 * Everything on `topic` up to its end at the time of the call, partition by partition in offset order. With the
 * producers stopped first, that is everything they ever wrote there: a count over it is final, not "so far".
 */
export async function readTopic(kafka: Kafka, topic: string, timeoutMs = 120_000): Promise<KafkaMessage[]> {
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `${topic}.reader-${randomUUID()}`;
  try {
    const ends = new Map((await admin.fetchTopicOffsets(topic)).filter((p) => Number(p.high) > Number(p.low)).map((p) => [p.partition, Number(p.high) - 1]));
    if (ends.size === 0) return [];
    const byPartition = new Map<number, KafkaMessage[]>();
    const done = new Set<number>();
    const consumer = kafka.consumer({ groupId });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          const messages = byPartition.get(partition) ?? [];
          byPartition.set(partition, messages);
          messages.push(message);
          if (Number(message.offset) >= ends.get(partition)!) done.add(partition);
        },
      });
      await eventually(`${topic} read to its end`, () => done.size === ends.size, timeoutMs);
    } finally {
      await consumer.disconnect();
    }
    return [...byPartition.keys()].sort((a, b) => a - b).flatMap((p) => byPartition.get(p)!);
  } finally {
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}
