/** Event consumers process: Kafka consumer groups that react to FinFlow's events. */
import { MongoClient } from 'mongodb';
import { loadConfigOrExit } from '../platform/config';
import { createPool } from '../platform/db/pool';
import { createKafka } from '../platform/events/kafka';
import { startHealthServer } from '../platform/health/server';
import { createLogger } from '../platform/logger';
import { CONSUMER_GROUPS, startConsumerGroups } from './consumers/groups';

async function main() {
  const cfg = loadConfigOrExit();
  const log = createLogger({ level: cfg.LOG_LEVEL, service: 'consumers' });
  const db = createPool(cfg.DATABASE_URL, 4);
  const mongo = await new MongoClient(cfg.MONGO_URL).connect();
  const kafka = createKafka(cfg);
  const consumers = await startConsumerGroups({ kafka, log, db, analytics: mongo.db(cfg.MONGO_DATABASE), config: cfg });
  log.info({ groups: CONSUMER_GROUPS }, 'consumers running');
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
