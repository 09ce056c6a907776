/** payment.failed -> Kafka -> the compliance consumer group: each failure recorded once, repeat failers flagged. */
import { randomUUID } from 'node:crypto';
import type { Consumer } from 'kafkajs';
import { createPool, withTenant, type Pool } from '../../platform/db/pool';
import type { CloudEvent } from '../../platform/events/cloudevent';
import { startConsumer } from '../../platform/events/consumer';
import { createKafka } from '../../platform/events/kafka';
import { appendToOutbox } from '../../platform/events/outbox';
import { OutboxRelay } from '../../platform/events/outbox-relay';
import { createLogger } from '../../platform/logger';
import { complianceRecorder } from '../../workers/consumers/compliance';
import { createTenant, testConfig } from '../support/env';
import { eventually } from '../support/eventually';
import { ensureTestTopics } from '../support/kafka';

const cfg = testConfig();
const log = createLogger({ level: 'silent', service: 'test' });
const kafka = createKafka(cfg);
let db: Pool;
let relayPool: Pool;
let relay: OutboxRelay;
let consumer: Consumer;
let tenantId: string;
const handled: CloudEvent[] = [];

beforeAll(async () => {
  await ensureTestTopics(kafka, cfg);
  db = createPool(cfg.DATABASE_URL, 4);
  relayPool = createPool(cfg.DATABASE_RELAY_URL, 2);
  tenantId = await createTenant(db);
  const record = complianceRecorder({ db, failureThreshold: 3, windowHours: 24 });
  relay = new OutboxRelay({ pool: relayPool, kafka, log, topicPrefix: cfg.KAFKA_TOPIC_PREFIX, pollIntervalMs: 200 });
  relay.start();
  consumer = await startConsumer({
    kafka,
    log,
    groupId: `${cfg.KAFKA_TOPIC_PREFIX}compliance-${randomUUID()}`,
    topic: 'payment.events',
    topicPrefix: cfg.KAFKA_TOPIC_PREFIX,
    handle: async (event) => {
      await record(event);
      handled.push(event);
    },
  });
});

afterAll(async () => {
  await consumer.disconnect();
  await relay.stop();
  await db.end();
  await relayPool.end();
});

async function failPayment(customerId: string): Promise<string> {
  const eventId = randomUUID();
  const paymentId = randomUUID();
  await withTenant(db, tenantId, (tx) =>
    appendToOutbox(tx, { eventId, type: 'payment.failed', tenantId, aggregateType: 'payment', aggregateId: paymentId, data: { paymentId, customerId, failureCode: 'PaymentDeclined' } }),
  );
  return eventId;
}


const failuresOf = (customerId: string) =>
  withTenant(db, tenantId, async (tx) => Number((await tx.query('SELECT count(*) FROM compliance_payment_failures WHERE customer_id = $1', [customerId])).rows[0].count));
const flagOf = (customerId: string) => withTenant(db, tenantId, async (tx) => (await tx.query('SELECT failures FROM compliance_flags WHERE customer_id = $1', [customerId])).rows[0]);

describe('the compliance consumer', () => {
  it('records each payment.failed once and flags a customer at the threshold', async () => {
    const customer = `cus_${randomUUID().slice(0, 8)}`;
    const ids = [await failPayment(customer), await failPayment(customer)];
    await eventually('two failures recorded', async () => (await failuresOf(customer)) === 2);
    expect(await flagOf(customer)).toBeUndefined();
    ids.push(await failPayment(customer));
    await eventually('the flag', async () => (await flagOf(customer)) !== undefined);
    expect(await flagOf(customer)).toEqual({ failures: 3 });

    // A redelivered event changes nothing.
    const first = handled.find((e) => e.id === ids[0])!;
    expect(await complianceRecorder({ db, failureThreshold: 3, windowHours: 24 })(first)).toBe('duplicate');
    expect(await failuresOf(customer)).toBe(3);
  });

  it('ignores other payment events', async () => {
    const event = { specversion: '1.0', id: randomUUID(), type: 'payment.succeeded', tenantid: tenantId, data: {} } as unknown as CloudEvent;
    expect(await complianceRecorder({ db, failureThreshold: 3, windowHours: 24 })(event)).toBe('ignored');
  });
});
