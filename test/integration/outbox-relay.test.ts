/**
 * The outbox relay against real Postgres and Kafka, on this run's private topics (KAFKA_TOPIC_PREFIX).
 */
import { randomUUID } from 'node:crypto';
import type { Consumer, KafkaMessage } from 'kafkajs';
import { createPool, withTenant, type Pool } from '../../platform/db/pool';
import type { CloudEvent } from '../../platform/events/cloudevent';
import { createKafka } from '../../platform/events/kafka';
import { appendToOutbox } from '../../platform/events/outbox';
import { OutboxRelay } from '../../platform/events/outbox-relay';
import { topicNames } from '../../platform/events/topics';
import { createLogger } from '../../platform/logger';
import { createTenant, testConfig } from '../support/env';
import { eventually } from '../support/eventually';
import { ensureTestTopics } from '../support/kafka';

const cfg = testConfig();
const kafka = createKafka(cfg);
const log = createLogger({ level: 'silent', service: 'test' });
const topic = `${cfg.KAFKA_TOPIC_PREFIX}platform.events`;
let app: Pool;
let relayPool: Pool;
let tenantId: string;
let consumer: Consumer;
const received: KafkaMessage[] = [];

beforeAll(async () => {
  await ensureTestTopics(kafka, cfg);
  app = createPool(cfg.DATABASE_URL, 2);
  relayPool = createPool(cfg.DATABASE_RELAY_URL, 4);
  tenantId = await createTenant(app);
  consumer = kafka.consumer({ groupId: `${cfg.KAFKA_TOPIC_PREFIX}relay-test` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void received.push(message) });
});

afterAll(async () => {
  await consumer.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: topicNames.map((t) => cfg.KAFKA_TOPIC_PREFIX + t) }).catch(() => undefined);
  await admin.disconnect();
  await app.end();
  await relayPool.end();
});

async function writeEvents(aggregateId: string, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, () => randomUUID());
  for (const eventId of ids) {
    await withTenant(app, tenantId, (tx) =>
      appendToOutbox(tx, { eventId, type: 'platform.smoke.completed', tenantId, aggregateType: 'smoke', aggregateId, data: { eventId } }),
    );
  }
  return ids;
}

const rawEventsOf = (aggregateId: string) =>
  received.filter((m) => m.key?.toString() === aggregateId).map((m) => JSON.parse(m.value!.toString()) as CloudEvent<{ eventId: string }>);

/** What a consumer sees after deduping by event id (delivery is at least once: a retried batch can repeat). */
const eventsOf = (aggregateId: string) => {
  const seen = new Set<string>();
  return rawEventsOf(aggregateId).filter((e) => !seen.has(e.id) && seen.add(e.id));
};


const unpublished = async (ids: string[]) =>
  Number((await relayPool.query('SELECT count(*) FROM outbox WHERE event_id = ANY($1::uuid[]) AND published_at IS NULL', [ids])).rows[0].count);

describe('OutboxRelay', () => {
  it('publishes committed events as CloudEvents, keyed by aggregate, in order, and marks them published', async () => {
    const aggregateId = `agg-${randomUUID()}`;
    const ids = await writeEvents(aggregateId, 5);
    const relay = new OutboxRelay({ pool: relayPool, kafka, log, topicPrefix: cfg.KAFKA_TOPIC_PREFIX, pollIntervalMs: 200 });
    relay.start();
    try {
      await eventually('5 events on Kafka', () => eventsOf(aggregateId).length >= 5);
    } finally {
      await relay.stop();
    }
    const events = eventsOf(aggregateId);
    expect(events.map((e) => e.id)).toEqual(ids);
    expect(events[0]).toMatchObject({ specversion: '1.0', type: 'platform.smoke.completed', tenantid: tenantId, subject: `smoke/${aggregateId}` });
    const message = received.find((m) => m.key?.toString() === aggregateId)!;
    expect(message.headers!['content-type']!.toString()).toBe('application/cloudevents+json; charset=utf-8');
    // Marking follows publishing; another test's relay may be the one leading (one relay leads per database), so
    // the mark can land just after the consumer sees the messages.
    await eventually('the 5 rows marked published', async () => (await unpublished(ids)) === 0);
  });

  it('keeps events while Kafka is unreachable, then delivers them in order once it is back', async () => {
    const aggregateId = `agg-${randomUUID()}`;
    const ids = await writeEvents(aggregateId, 3);
    const deadKafka = createKafka({ ...cfg, KAFKA_BROKERS: ['127.0.0.1:1'] }, { retry: { retries: 0 }, logLevel: 0 });
    const blocked = new OutboxRelay({ pool: relayPool, kafka: deadKafka, log, topicPrefix: cfg.KAFKA_TOPIC_PREFIX });
    await expect(blocked.publishBatch()).rejects.toThrow();
    expect(await unpublished(ids)).toBe(3);
    const { rows } = await relayPool.query('SELECT publish_attempts, last_error FROM outbox WHERE event_id = $1', [ids[0]]);
    expect(rows[0].publish_attempts).toBeGreaterThan(0);
    expect(rows[0].last_error).toEqual(expect.any(String));

    const relay = new OutboxRelay({ pool: relayPool, kafka, log, topicPrefix: cfg.KAFKA_TOPIC_PREFIX, pollIntervalMs: 200 });
    relay.start();
    try {
      await eventually('the backlog on Kafka', () => eventsOf(aggregateId).length >= 3);
    } finally {
      await relay.stop();
    }
    expect(eventsOf(aggregateId).map((e) => e.id)).toEqual(ids);
  });

  it('lets only one of several relays lead, so events are not published once per relay', async () => {
    const aggregateId = `agg-${randomUUID()}`;
    const relays = [1, 2, 3].map(() => new OutboxRelay({ pool: relayPool, kafka, log, topicPrefix: cfg.KAFKA_TOPIC_PREFIX, pollIntervalMs: 100 }));
    relays.forEach((r) => r.start());
    try {
      const ids = await writeEvents(aggregateId, 20);
      await eventually('20 events on Kafka', () => eventsOf(aggregateId).length >= 20);
      await new Promise((r) => setTimeout(r, 500)); // room for any duplicate to show up
      expect(eventsOf(aggregateId).map((e) => e.id)).toEqual(ids);
      // Three leaders would publish every event three times; one leader repeats at most a retried batch.
      expect(rawEventsOf(aggregateId).length).toBeLessThan(2 * ids.length);
    } finally {
      await Promise.all(relays.map((r) => r.stop()));
    }
  });
});
