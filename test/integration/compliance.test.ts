/** payment.failed -> Kafka -> the compliance consumer group: each failure recorded once, repeat failers flagged. */
import { randomUUID } from 'node:crypto';
import type { Consumer } from 'kafkajs';
import { createPool, withTenant, type Pool } from '../../platform/db/pool';
import { cloudEvent, type CloudEvent } from '../../platform/events/cloudevent';
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

const HOUR = 3600_000;
const WINDOW_HOURS = 24;
/** The consumer's handler, called directly: for event times Kafka delivery cannot choose (late, out of order). */
const record = (event: CloudEvent) => complianceRecorder({ db, failureThreshold: 3, windowHours: WINDOW_HOURS })(event);

/** A payment.failed CloudEvent as the saga emits it (activities/payments failPayment / closePaymentWithoutCapture). */
function paymentFailed(customerId: string, at: Date, outcome: { status: 'failed' | 'canceled' | 'expired'; failureCode: string } = { status: 'failed', failureCode: 'PaymentDeclined' }) {
  const paymentId = randomUUID();
  return cloudEvent({
    id: randomUUID(),
    type: 'payment.failed',
    source: 'finflow/payment',
    subject: `payment/${paymentId}`,
    tenantId,
    time: at,
    data: { paymentId, customerId, amountMinor: 1000, currency: 'EUR', ...outcome },
  });
}
const hoursAgo = (h: number) => new Date(Date.now() - h * HOUR);

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

  it('does not count a failure outside the window', async () => {
    const customer = `cus_${randomUUID().slice(0, 8)}`;
    expect(await record(paymentFailed(customer, hoursAgo(WINDOW_HOURS + 1)))).toBe('recorded');
    expect(await record(paymentFailed(customer, hoursAgo(2)))).toBe('recorded');
    expect(await record(paymentFailed(customer, hoursAgo(0)))).toBe('recorded');
    expect(await failuresOf(customer)).toBe(3); // kept for review, but only two fall within 24 hours
    expect(await flagOf(customer)).toBeUndefined();
    expect(await record(paymentFailed(customer, hoursAgo(0)))).toBe('flagged');
    expect(await flagOf(customer)).toEqual({ failures: 3 });
  });

  it('flags failures that fell within one window even when they are processed days later', async () => {
    // The consumer was down for three days: the failures happened within an hour of each other, back then.
    const customer = `cus_${randomUUID().slice(0, 8)}`;
    expect(await record(paymentFailed(customer, hoursAgo(72)))).toBe('recorded');
    expect(await record(paymentFailed(customer, hoursAgo(71.5)))).toBe('recorded');
    expect(await record(paymentFailed(customer, hoursAgo(71)))).toBe('flagged');
    expect(await flagOf(customer)).toEqual({ failures: 3 });
  });

  it('counts failures by when they happened, whatever order they arrive in', async () => {
    // payment.events is keyed by payment: one customer's failures travel on different partitions.
    const within = `cus_${randomUUID().slice(0, 8)}`;
    for (const h of [30, 50]) expect(await record(paymentFailed(within, hoursAgo(h)))).toBe('recorded');
    expect(await record(paymentFailed(within, hoursAgo(49)))).toBe('flagged'); // 50h, 49h and 30h ago: within 24 hours

    const spread = `cus_${randomUUID().slice(0, 8)}`;
    for (const h of [30, 72, 49]) expect(await record(paymentFailed(spread, hoursAgo(h)))).toBe('recorded'); // no 24 hours hold all three
    expect(await flagOf(spread)).toBeUndefined();
  });

  it('does not count cancelled payments or expired authorisations', async () => {
    const customer = `cus_${randomUUID().slice(0, 8)}`;
    expect(await record(paymentFailed(customer, hoursAgo(1)))).toBe('recorded');
    expect(await record(paymentFailed(customer, hoursAgo(1)))).toBe('recorded');
    expect(await record(paymentFailed(customer, hoursAgo(0), { status: 'canceled', failureCode: 'canceled' }))).toBe('ignored');
    expect(await record(paymentFailed(customer, hoursAgo(0), { status: 'expired', failureCode: 'authorization_expired' }))).toBe('ignored');
    expect(await failuresOf(customer)).toBe(2);
    expect(await flagOf(customer)).toBeUndefined();
    expect(await record(paymentFailed(customer, hoursAgo(0), { status: 'failed', failureCode: 'PaymentRiskRejected' }))).toBe('flagged');
  });

  it('flags a customer whose failures are recorded at the same moment by separate consumers', async () => {
    // Three consumers each record one of a customer's three failures at once, on their own connections: each
    // counts the others' rows only if it waits for them (one customer's failures are counted one at a time).
    const consumers = Array.from({ length: 3 }, () => complianceRecorder({ db, failureThreshold: 3, windowHours: WINDOW_HOURS }));
    const customers = Array.from({ length: 8 }, () => `cus_${randomUUID().slice(0, 8)}`);
    for (const customer of customers) {
      const outcomes = await Promise.all(consumers.map((r, i) => r(paymentFailed(customer, hoursAgo(i)))));
      expect(outcomes.filter((o) => o === 'flagged').length).toBeGreaterThanOrEqual(1);
      expect(await flagOf(customer)).toEqual({ failures: 3 });
    }
  });

  it('ignores other payment events', async () => {
    const event = { specversion: '1.0', id: randomUUID(), type: 'payment.succeeded', tenantid: tenantId, data: {} } as unknown as CloudEvent;
    expect(await complianceRecorder({ db, failureThreshold: 3, windowHours: 24 })(event)).toBe('ignored');
  });
});
