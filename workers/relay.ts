/** Outbox relay process: publishes committed outbox rows to Kafka (platform/events/outbox-relay.ts). */
import { loadComponentConfigOrExit } from '../platform/config';
import { createPool } from '../platform/db/pool';
import { createKafka } from '../platform/events/kafka';
import { OutboxRelay } from '../platform/events/outbox-relay';
import { startHealthServer } from '../platform/health/server';
import { createLogger } from '../platform/logger';

const cfg = loadComponentConfigOrExit('relay');
const log = createLogger({ level: cfg.LOG_LEVEL, service: 'relay' });
const relay = new OutboxRelay({
  pool: createPool(cfg.DATABASE_RELAY_URL, 3),
  kafka: createKafka(cfg),
  log,
  topicPrefix: cfg.KAFKA_TOPIC_PREFIX,
  pollIntervalMs: cfg.OUTBOX_POLL_INTERVAL_MS,
  deadLetterAfter: cfg.OUTBOX_DEAD_LETTER_AFTER,
  retentionHours: cfg.OUTBOX_RETENTION_HOURS,
});
relay.start();
log.info('outbox relay started');
// Ready means running: a standby relay (another replica leads) is healthy, not failing.
if (cfg.HEALTH_PORT) startHealthServer(cfg.HEALTH_PORT, () => true);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log.info({ signal }, 'outbox relay stopping');
    relay.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
