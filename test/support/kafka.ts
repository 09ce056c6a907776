import type { Kafka } from 'kafkajs';
import type { Config } from '../../platform/config';
import { ensureTopics } from '../../platform/events/topics';

/** Creates this run's private copies of FinFlow's topics (KAFKA_TOPIC_PREFIX). */
export async function ensureTestTopics(kafka: Kafka, cfg: Config): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, { prefix: cfg.KAFKA_TOPIC_PREFIX });
  } finally {
    await admin.disconnect();
  }
}
