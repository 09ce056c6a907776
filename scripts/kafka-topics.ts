/** `npm run kafka:topics`: creates FinFlow's topics on KAFKA_BROKERS with the seed's partitions and retention. */
import { loadConfigSection, orExit } from '../platform/config';
import { createKafka } from '../platform/events/kafka';
import { ensureTopics } from '../platform/events/topics';

async function main() {
  const cfg = orExit(() =>
    loadConfigSection([
      'KAFKA_BROKERS',
      'KAFKA_CLIENT_ID',
      'KAFKA_SSL',
      'KAFKA_SASL_MECHANISM',
      'KAFKA_SASL_USERNAME',
      'KAFKA_SASL_PASSWORD',
      'KAFKA_TOPIC_PREFIX',
      'KAFKA_REPLICATION_FACTOR',
    ]),
  );
  const admin = createKafka(cfg).admin();
  await admin.connect();
  try {
    const created = await ensureTopics(admin, { prefix: cfg.KAFKA_TOPIC_PREFIX, replicationFactor: cfg.KAFKA_REPLICATION_FACTOR });
    console.log(created.length ? `[kafka] created ${created.join(', ')}` : '[kafka] every topic exists');
  } finally {
    await admin.disconnect();
  }
}

main().catch((err: unknown) => {
  console.error(`[kafka] topic setup failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
