/**
 * The moving parts behind an end-to-end test: a worker on the given task queues (with the process's real
 * dependencies), the outbox relay, and a consumer collecting one topic's CloudEvents from Kafka.
 */
import { randomUUID } from 'node:crypto';
import type { Config } from '../../platform/config';
import { createPool, type Pool } from '../../platform/db/pool';
import type { CloudEvent } from '../../platform/events/cloudevent';
import { createKafka } from '../../platform/events/kafka';
import { OutboxRelay } from '../../platform/events/outbox-relay';
import type { TopicName } from '../../platform/events/topics';
import { createLogger } from '../../platform/logger';
import type { TaskQueueName } from '../../platform/temporal/client';
import { connectWorker, createWorkers, workerDeps } from '../../workers/create-workers';
import type { WorkerDeps } from '../../workers/task-queues';
import { ensureTestTopics } from './kafka';

export interface Pipeline {
  /** Application-role pool the worker uses; tests may read through it. */
  db: Pool;
  /** Every CloudEvent read from the topic so far (at-least-once: dedupe by id when counting). */
  received: CloudEvent[];
  close(): Promise<void>;
}

/** `deps` replaces some of the worker's dependencies (a payment provider pointed at a test's Stripe double). */
export async function startPipeline(cfg: Config, queues: TaskQueueName[], topic: TopicName, deps: Partial<WorkerDeps> = {}): Promise<Pipeline> {
  const kafka = createKafka(cfg);
  await ensureTestTopics(kafka, cfg);
  const db = createPool(cfg.DATABASE_URL, 6);
  const relayPool = createPool(cfg.DATABASE_RELAY_URL, 2);
  const connection = await connectWorker(cfg);
  const workers = await createWorkers(cfg, connection, { ...(await workerDeps(cfg, db, queues)), ...deps }, queues);
  const runs = workers.map((w) => w.run());
  const relay = new OutboxRelay({ pool: relayPool, kafka, log: createLogger({ level: 'silent', service: 'test' }), topicPrefix: cfg.KAFKA_TOPIC_PREFIX, pollIntervalMs: 200 });
  relay.start();
  const received: CloudEvent[] = [];
  const consumer = kafka.consumer({ groupId: `${cfg.KAFKA_TOPIC_PREFIX}e2e-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic: `${cfg.KAFKA_TOPIC_PREFIX}${topic}`, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void received.push(JSON.parse(message.value!.toString()) as CloudEvent) });
  return {
    db,
    received,
    async close() {
      await consumer.disconnect();
      await relay.stop();
      for (const w of workers) w.shutdown();
      await Promise.all(runs);
      await connection.close();
      await Promise.all([db.end(), relayPool.end()]);
    },
  };
}
