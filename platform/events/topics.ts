/**
 * FinFlow's Kafka topics, from the architecture seed: partitions and retention stand as it gives them. Replication
 * is 3 in production and 1 on the single local broker (KAFKA_REPLICATION_FACTOR).
 */
import type { Admin, ITopicConfig } from 'kafkajs';

const DAY_MS = 24 * 60 * 60 * 1000;

export const TOPICS = {
  'payment.events': { partitions: 3, retentionMs: 7 * DAY_MS },
  'transaction.events': { partitions: 5, retentionMs: 30 * DAY_MS },
  'user.events': { partitions: 2, retentionMs: 90 * DAY_MS },
  'analytics.events': { partitions: 10, retentionMs: 7 * DAY_MS },
  /** Not in the seed: operational events (the smoke workflow), kept apart from business topics. */
  'platform.events': { partitions: 1, retentionMs: 7 * DAY_MS },
  /**
   * Not in the seed: messages a consumer group can never process (not a CloudEvent, forged, invalid data), as they
   * came, with headers naming the reason, the consumer group and the original topic, partition and offset.
   */
  'finflow.dead-letter': { partitions: 1, retentionMs: 30 * DAY_MS },
} as const satisfies Record<string, { partitions: number; retentionMs: number }>;

export type TopicName = keyof typeof TOPICS;

/** Where consumer groups put what they can never process (platform/events/consumer.ts). */
export const DEAD_LETTER_TOPIC = 'finflow.dead-letter' satisfies TopicName;

export const topicNames = Object.keys(TOPICS) as TopicName[];

/**
 * Creates the missing topics (idempotent) and checks existing ones have the declared partition count. The prefix
 * lets a test run own a private set of topics on a shared broker.
 */
export async function ensureTopics(admin: Admin, opts: { prefix?: string; replicationFactor?: number } = {}): Promise<string[]> {
  const prefix = opts.prefix ?? '';
  const existing = new Set(await admin.listTopics());
  const missing: ITopicConfig[] = topicNames
    .filter((name) => !existing.has(prefix + name))
    .map((name) => ({
      topic: prefix + name,
      numPartitions: TOPICS[name].partitions,
      replicationFactor: opts.replicationFactor ?? 1,
      configEntries: [{ name: 'retention.ms', value: String(TOPICS[name].retentionMs) }],
    }));
  if (missing.length) await admin.createTopics({ topics: missing, waitForLeaders: true });
  const meta = await admin.fetchTopicMetadata({ topics: topicNames.map((n) => prefix + n) });
  for (const t of meta.topics) {
    const want = TOPICS[t.name.slice(prefix.length) as TopicName].partitions;
    if (t.partitions.length !== want) {
      throw new Error(`Kafka topic ${t.name} has ${t.partitions.length} partitions, FinFlow expects ${want}`);
    }
  }
  return missing.map((t) => t.topic);
}
