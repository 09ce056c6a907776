/** Event consumers process: Kafka consumer groups that react to FinFlow's events. */
import { MongoClient } from 'mongodb';
import { loadComponentConfigOrExit } from '../platform/config';
import { createPool } from '../platform/db/pool';
import { createKafka } from '../platform/events/kafka';
import { startHealthServer } from '../platform/health/server';
import { createTemporalClient } from '../platform/temporal/client';
import { createLogger } from '../platform/logger';
import { CONSUMER_GROUPS, startConsumerGroups } from './consumers/groups';
import { periodCloseScheduler } from './period-close-schedule';

async function main() {
  const cfg = loadComponentConfigOrExit('consumers');
  const log = createLogger({ level: cfg.LOG_LEVEL, service: 'consumers' });
  const db = createPool(cfg.DATABASE_URL, 4);
  const mongo = await new MongoClient(cfg.MONGO_URL).connect();
  const kafka = createKafka(cfg);
  const consumers = await startConsumerGroups({
    kafka,
    log,
    db,
    analytics: mongo.db(cfg.MONGO_DATABASE),
    closeSchedules: periodCloseScheduler(createTemporalClient(cfg), cfg),
    config: cfg,
  });
  log.info({ groups: CONSUMER_GROUPS }, 'consumers running');
  // kafkajs restarts a consumer after a retriable crash by itself; after any other crash (a handler defect it deems
  // non-retriable) the group would sit idle in a live process. Exit instead, so the supervisor restarts it and the
  // group resumes from its last committed offset.
  for (const consumer of consumers) {
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (payload.restart) return;
      log.error({ groupId: payload.groupId, error: payload.error.name }, 'consumer crashed and will not restart: exiting');
      process.exit(1);
    });
  }
  if (cfg.HEALTH_PORT) startHealthServer(cfg.HEALTH_PORT, () => true);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void Promise.allSettled(consumers.map((c) => c.disconnect()))
        .then(() => Promise.allSettled([db.end(), mongo.close()]))
        .then(() => process.exit(0));
    });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
