/** Event consumers process: Kafka consumer groups that react to FinFlow's events. */
import { MongoClient } from 'mongodb';
import { loadConfigOrExit } from '../platform/config';
import { createPool } from '../platform/db/pool';
import { startConsumer } from '../platform/events/consumer';
import { createKafka } from '../platform/events/kafka';
import { startHealthServer } from '../platform/health/server';
import { createLogger } from '../platform/logger';
import { complianceRecorder } from './consumers/compliance';
import { tenantProvisioner } from './consumers/tenant-provisioner';

async function main() {
  const cfg = loadConfigOrExit();
  const log = createLogger({ level: cfg.LOG_LEVEL, service: 'consumers' });
  const db = createPool(cfg.DATABASE_URL, 4);
  const mongo = await new MongoClient(cfg.MONGO_URL).connect();
  const kafka = createKafka(cfg);
  const provision = tenantProvisioner({ db, analytics: mongo.db(cfg.MONGO_DATABASE) });
  const recordFailure = complianceRecorder({ db, failureThreshold: cfg.COMPLIANCE_FAILURE_THRESHOLD, windowHours: cfg.COMPLIANCE_WINDOW_HOURS });
  const consumers = [
    await startConsumer({
      kafka,
      log,
      groupId: `${cfg.KAFKA_TOPIC_PREFIX}finflow-tenant-provisioner`,
      topic: 'user.events',
      topicPrefix: cfg.KAFKA_TOPIC_PREFIX,
      handle: async (event) => {
        const outcome = await provision(event);
        if (outcome !== 'ignored') log.info({ eventId: event.id, outcome }, 'user.registered handled');
      },
    }),
    await startConsumer({
      kafka,
      log,
      groupId: `${cfg.KAFKA_TOPIC_PREFIX}finflow-compliance`,
      topic: 'payment.events',
      topicPrefix: cfg.KAFKA_TOPIC_PREFIX,
      handle: async (event) => {
        const outcome = await recordFailure(event);
        if (outcome === 'flagged') log.warn({ eventId: event.id, tenantId: event.tenantid }, 'customer flagged for compliance review');
      },
    }),
  ];
  log.info({ groups: ['finflow-tenant-provisioner', 'finflow-compliance'] }, 'consumers running');
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
