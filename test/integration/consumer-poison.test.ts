/**
 * The consumer groups trust nothing they read (issue 13.6): on every topic FinFlow consumes, a forged, malformed or
 * otherwise poisoned message goes to the dead-letter topic with the reason and where it came from, changes nothing,
 * and does not stall its partition: the good message after it is processed. A transient failure is retried, not
 * dead-lettered. The real consumer groups (workers/consumers/groups.ts) run on this file's own topics.
 */
import { randomUUID } from 'node:crypto';
import { logLevel, Partitioners, type Consumer, type IHeaders, type KafkaMessage, type Producer } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { createPool, withTenant, type Pool } from '../../platform/db/pool';
import { CLOUDEVENT_CONTENT_TYPE, cloudEvent, type CloudEvent } from '../../platform/events/cloudevent';
import { startConsumer } from '../../platform/events/consumer';
import { createKafka } from '../../platform/events/kafka';
import { createLogger } from '../../platform/logger';
import { startConsumerGroups } from '../../workers/consumers/groups';
import { createTenant, testConfig } from '../support/env';
import { eventually } from '../support/eventually';
import { deleteTopicsWithPrefix, ensureTestTopics, readTopic } from '../support/kafka';

const cfg = testConfig();
/** This file's own topics and consumer groups. */
const prefix = `${cfg.KAFKA_TOPIC_PREFIX}poison-${randomUUID().slice(0, 8)}.`;
const DLQ = `${prefix}finflow.dead-letter`;
const log = createLogger({ level: 'silent', service: 'test' });
/** kafkajs's own log stays quiet: the transient test makes its retries log errors on purpose. */
const kafka = createKafka(cfg, { logLevel: logLevel.NOTHING });
/** Kafka, consumer group joins and retries on a loaded machine: generous. */
const KAFKA_DEADLINE_MS = 120_000;
const TEST_TIMEOUT_MS = 180_000;
let db: Pool;
let mongo: MongoClient;
let producer: Producer;
let consumers: Consumer[] = [];

beforeAll(async () => {
  await ensureTestTopics(kafka, cfg, prefix);
  db = createPool(cfg.DATABASE_URL, 4);
  mongo = await new MongoClient(cfg.MONGO_URL).connect();
  producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  consumers = await startConsumerGroups({ kafka, log, db, analytics: mongo.db(cfg.MONGO_DATABASE), config: { ...cfg, KAFKA_TOPIC_PREFIX: prefix } });
});

afterAll(async () => {
  await Promise.allSettled(consumers.map((c) => c.disconnect()));
  await producer?.disconnect();
  await deleteTopicsWithPrefix(kafka, prefix).catch(() => undefined);
  await mongo?.close();
  await db?.end();
});

/** Sends one message to partition 0 of `topic` (so the messages of a test follow each other) and answers its offset. */
async function send(topic: string, value: string, key = 'poison-test'): Promise<string> {
  const [meta] = await producer.send({ topic: prefix + topic, messages: [{ key, value, partition: 0, headers: { 'content-type': CLOUDEVENT_CONTENT_TYPE } }] });
  return meta!.baseOffset!;
}

const header = (headers: IHeaders | undefined, name: string) => headers?.[name]?.toString();

/** The dead letters of `topic`, by the offset they had there. */
/** The dead letters of one topic, by original offset: of one consumer group when several groups read the topic. */
async function deadLetters(topic: string, group?: string): Promise<Map<string, KafkaMessage>> {
  const all = await readTopic(kafka, DLQ);
  const ours = all.filter((m) => header(m.headers, 'original-topic') === prefix + topic && (!group || header(m.headers, 'consumer-group') === prefix + group));
  return new Map(ours.map((m) => [header(m.headers, 'original-offset')!, m]));
}

const provisionedAt = (tenantId: string) =>
  withTenant(db, tenantId, async (tx) => (await tx.query<{ provisioned_at: Date | null }>('SELECT provisioned_at FROM tenants')).rows[0]!.provisioned_at);

function userRegistered(envelopeTenant: string, data: Record<string, unknown>) {
  return cloudEvent({ id: randomUUID(), type: 'user.registered', source: 'finflow/user', subject: `user/${randomUUID()}`, tenantId: envelopeTenant, data });
}

const registration = (tenantId: string) => ({ userId: randomUUID(), tenantId, role: 'admin', tenantSlug: `t-${tenantId.slice(0, 8)}`, defaultCurrency: 'EUR' });

describe('user.events (tenant provisioner)', () => {
  it('dead-letters forged, malformed and invalid events with the reason, provisions nobody for them, and keeps the partition flowing', async () => {
    const attacker = await createTenant(db);
    const victim = await createTenant(db);
    const good = await createTenant(db);
    const poisoned: { what: string; value: string; reason: RegExp }[] = [
      // Tenant A's envelope carrying tenant B's registration: A must not provision (or touch) B.
      { what: 'forged tenant', value: JSON.stringify(userRegistered(attacker, registration(victim))), reason: /tenant/i },
      { what: 'not JSON', value: '{"specversion":"1.0", "id": ', reason: /json/i },
      { what: 'not a CloudEvent', value: JSON.stringify({ hello: 'world' }), reason: /specversion|id|type/i },
      { what: 'data without its tenant', value: JSON.stringify(userRegistered(victim, { ...registration(victim), tenantId: undefined })), reason: /tenantId/ },
      { what: 'an id that is no uuid', value: JSON.stringify({ ...userRegistered(victim, registration(victim)), id: 'not-a-uuid' }), reason: /\bid: / },
      { what: 'a time that is no time', value: JSON.stringify({ ...userRegistered(victim, registration(victim)), time: 'yesterday' }), reason: /\btime: / },
      { what: 'a tenant id that is no uuid', value: JSON.stringify(userRegistered('tenant-b', registration('tenant-b'))), reason: /tenant/i },
    ];
    const offsets = [];
    for (const p of poisoned) offsets.push(await send('user.events', p.value));
    await send('user.events', JSON.stringify(userRegistered(good, registration(good))));

    // The partition flows: the good registration after the poisoned ones is provisioned.
    await eventually('the good user.registered provisioned', async () => (await provisionedAt(good)) !== null, KAFKA_DEADLINE_MS);
    expect(await provisionedAt(victim)).toBeNull();
    expect(await mongo.db(cfg.MONGO_DATABASE).collection<{ _id: string }>('tenants').findOne({ _id: victim })).toBeNull();

    const dead = await deadLetters('user.events');
    for (const [i, p] of poisoned.entries()) {
      const letter = dead.get(offsets[i]!);
      expect({ what: p.what, dead: letter !== undefined }).toEqual({ what: p.what, dead: true });
      expect(letter!.value!.toString()).toBe(p.value);
      expect({ what: p.what, reason: header(letter!.headers, 'reason') }).toEqual({ what: p.what, reason: expect.stringMatching(p.reason) });
      expect(header(letter!.headers, 'original-partition')).toBe('0');
      expect(header(letter!.headers, 'consumer-group')).toBe(`${prefix}finflow-tenant-provisioner`);
    }
    expect(dead.size).toBe(poisoned.length);
  }, TEST_TIMEOUT_MS);
});

describe('payment.events (compliance)', () => {
  function paymentFailed(tenantId: string, data: Record<string, unknown>, over: Partial<CloudEvent> = {}) {
    const paymentId = randomUUID();
    const e = cloudEvent({
      id: randomUUID(),
      type: 'payment.failed',
      source: 'finflow/payment',
      subject: `payment/${paymentId}`,
      tenantId,
      data: { paymentId, customerId: 'cus_poison', amountMinor: 1000, currency: 'EUR', status: 'failed', failureCode: 'PaymentDeclined', ...data },
    });
    return JSON.stringify({ ...e, ...over });
  }
  const failuresOf = (tenantId: string) =>
    withTenant(db, tenantId, async (tx) => (await tx.query<{ event_id: string }>('SELECT event_id FROM compliance_payment_failures')).rows.map((r) => r.event_id));

  it('dead-letters forged, malformed and invalid events with the reason, records nothing for them, and keeps the partition flowing', async () => {
    const tenantId = await createTenant(db);
    const poisoned: { what: string; value: string; reason: RegExp }[] = [
      { what: 'a tenant that does not exist', value: paymentFailed(randomUUID(), {}), reason: /tenant/i },
      { what: 'not JSON', value: 'payment.failed!', reason: /json/i },
      { what: 'missing customer', value: paymentFailed(tenantId, { customerId: undefined }), reason: /customerId/ },
      { what: 'missing failure code', value: paymentFailed(tenantId, { failureCode: undefined }), reason: /failureCode/ },
      { what: 'a payment id that is no uuid', value: paymentFailed(tenantId, { paymentId: "1'; DROP TABLE payments; --" }), reason: /paymentId/ },
      { what: 'a time that is no time', value: paymentFailed(tenantId, {}, { time: '2026-13-45T99:00:00Z' }), reason: /\btime: / },
      { what: 'no tenant at all', value: paymentFailed(tenantId, {}, { tenantid: undefined }), reason: /tenantid/ },
    ];
    const offsets = [];
    for (const p of poisoned) offsets.push(await send('payment.events', p.value));
    const goodEvent = JSON.parse(paymentFailed(tenantId, {})) as CloudEvent;
    await send('payment.events', JSON.stringify(goodEvent));

    await eventually('the good payment.failed recorded', async () => (await failuresOf(tenantId)).includes(goodEvent.id), KAFKA_DEADLINE_MS);
    expect(await failuresOf(tenantId)).toEqual([goodEvent.id]);

    // finflow-invoice-reminders reads payment.events too: an envelope it cannot read is its dead letter as well.
    const dead = await deadLetters('payment.events', 'finflow-compliance');
    for (const [i, p] of poisoned.entries()) {
      const letter = dead.get(offsets[i]!);
      expect({ what: p.what, dead: letter !== undefined }).toEqual({ what: p.what, dead: true });
      expect(letter!.value!.toString()).toBe(p.value);
      expect({ what: p.what, reason: header(letter!.headers, 'reason') }).toEqual({ what: p.what, reason: expect.stringMatching(p.reason) });
      expect(header(letter!.headers, 'original-partition')).toBe('0');
      expect(header(letter!.headers, 'consumer-group')).toBe(`${prefix}finflow-compliance`);
    }
    expect(dead.size).toBe(poisoned.length);
  }, TEST_TIMEOUT_MS);
});

describe('a transient failure', () => {
  it('is retried until it passes, never dead-lettered', async () => {
    const tenantId = await createTenant(db);
    const event = cloudEvent({ id: randomUUID(), type: 'platform.smoke.completed', source: 'finflow/test', subject: 'test/transient', tenantId, data: {} });
    let attempts = 0;
    const handled: string[] = [];
    const consumer = await startConsumer({
      kafka,
      log,
      groupId: `${prefix}transient-${randomUUID()}`,
      topic: 'platform.events',
      topicPrefix: prefix,
      handle: async (e) => {
        // The database is down for the first two attempts (a connection refused, as pg reports it).
        if (e.id === event.id && ++attempts <= 2) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
        handled.push(e.id);
      },
    });
    try {
      const offset = await send('platform.events', JSON.stringify(event));
      await eventually('the event handled once the database is back', () => handled.includes(event.id), KAFKA_DEADLINE_MS);
      expect(attempts).toBe(3);
      const dead = await readTopic(kafka, DLQ);
      expect(dead.filter((m) => header(m.headers, 'original-topic') === `${prefix}platform.events` && header(m.headers, 'original-offset') === offset)).toEqual([]);
    } finally {
      await consumer.disconnect();
    }
  }, TEST_TIMEOUT_MS);
});
