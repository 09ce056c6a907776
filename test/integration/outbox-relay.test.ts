/**
 * The outbox relay against real Postgres and Kafka. The file owns its data and topics: a database of its own (a
 * relay leads per database, so no other file's relay can publish or mark these rows), topics under its own
 * prefix on the stack's broker (deleted afterwards), and a private broker for the outage, which it kills and
 * restarts while the relay runs. Counts are taken after the relays stop, over each topic read to its end.
 */
import { randomUUID } from 'node:crypto';
import { logLevel, type Kafka, type KafkaMessage } from 'kafkajs';
import { createPool, withTenant, type Pool } from '../../platform/db/pool';
import type { CloudEvent } from '../../platform/events/cloudevent';
import { createKafka } from '../../platform/events/kafka';
import { appendToOutbox } from '../../platform/events/outbox';
import { OutboxRelay } from '../../platform/events/outbox-relay';
import { TOPICS } from '../../platform/events/topics';
import { createLogger } from '../../platform/logger';
import { createTenant, testConfig } from '../support/env';
import { eventually } from '../support/eventually';
import { deleteTopicsWithPrefix, readTopic } from '../support/kafka';
import { createPrivateDatabase, type PrivateDatabase } from '../support/private-database';
import { createPrivateKafka, type PrivateKafka } from '../support/private-kafka';

const cfg = testConfig();
const kafka = createKafka(cfg);
const log = createLogger({ level: 'silent', service: 'test' });
/** This file's topics on the stack's broker. */
const PREFIX = `${cfg.KAFKA_TOPIC_PREFIX}outbox-relay.`;
const SMOKE_TOPIC = 'platform.events';
let database: PrivateDatabase;
let app: Pool;
let relayPool: Pool;
let tenantId: string;
let privateKafka: PrivateKafka | undefined;

beforeAll(async () => {
  database = await createPrivateDatabase();
  app = createPool(database.env.DATABASE_URL, 2);
  relayPool = createPool(database.env.DATABASE_RELAY_URL, 6);
  tenantId = await createTenant(app);
});

afterAll(async () => {
  await privateKafka?.destroy();
  await deleteTopicsWithPrefix(kafka, PREFIX);
  await app.end();
  await relayPool.end();
  await database.drop();
});

async function createSmokeTopic(client: Kafka, prefix: string): Promise<string> {
  const topic = prefix + SMOKE_TOPIC;
  const admin = client.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: TOPICS[SMOKE_TOPIC].partitions }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
  return topic;
}

/** Writes n events of one aggregate, one committed transaction each (each commit wakes the relays). */
async function writeEvents(aggregateId: string, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, () => randomUUID());
  for (const eventId of ids) {
    await withTenant(app, tenantId, (tx) =>
      appendToOutbox(tx, { eventId, type: 'platform.smoke.completed', tenantId, aggregateType: 'smoke', aggregateId, data: { eventId } }),
    );
  }
  return ids;
}

const unpublished = async (ids: string[]) =>
  Number((await relayPool.query('SELECT count(*) FROM outbox WHERE event_id = ANY($1::uuid[]) AND published_at IS NULL', [ids])).rows[0].count);

const allPublished = (ids: string[]) => eventually(`${ids.length} rows marked published`, async () => (await unpublished(ids)) === 0, 120_000);

/** Event ids of one aggregate's messages, in the order they sit on the topic, repeats included. */
const idsOf = (messages: KafkaMessage[], aggregateId: string) =>
  messages.filter((m) => m.key?.toString() === aggregateId).map((m) => (JSON.parse(m.value!.toString()) as CloudEvent).id);

const newRelay = (topicPrefix: string, client: Kafka = kafka, extra: { maxBackoffMs?: number } = {}) =>
  new OutboxRelay({ pool: relayPool, kafka: client, log, topicPrefix, pollIntervalMs: 100, ...extra });

describe('OutboxRelay', () => {
  it('publishes committed events as CloudEvents, keyed by aggregate, in order, once each, and marks them published', async () => {
    const prefix = `${PREFIX}publish.`;
    const topic = await createSmokeTopic(kafka, prefix);
    const aggregateId = `agg-${randomUUID()}`;
    const ids = await writeEvents(aggregateId, 5);
    const relay = newRelay(prefix);
    relay.start();
    try {
      await allPublished(ids);
    } finally {
      await relay.stop();
    }
    const messages = await readTopic(kafka, topic);
    // Nothing crashed, so nothing was sent twice.
    expect(idsOf(messages, aggregateId)).toEqual(ids);
    const first = messages.find((m) => m.key?.toString() === aggregateId)!;
    expect(JSON.parse(first.value!.toString())).toMatchObject({ specversion: '1.0', id: ids[0], type: 'platform.smoke.completed', tenantid: tenantId, subject: `smoke/${aggregateId}` });
    expect(first.headers!['content-type']!.toString()).toBe('application/cloudevents+json; charset=utf-8');
    expect(first.headers!.ce_id!.toString()).toBe(ids[0]);
  }, 300_000);

  it('lets exactly one of two running relays publish each event, and the standby takes over when the leader stops', async () => {
    // Each relay publishes under its own prefix, so the topics show which relay sent what.
    const prefixes = [`${PREFIX}relay-a.`, `${PREFIX}relay-b.`];
    const topics = await Promise.all(prefixes.map((p) => createSmokeTopic(kafka, p)));
    const relays = prefixes.map((p) => newRelay(p));
    relays.forEach((r) => r.start());
    const aggregateId = `agg-${randomUUID()}`;
    try {
      const firstIds = await writeEvents(aggregateId, 20);
      await allPublished(firstIds);
      const sentBy = await Promise.all(topics.map(async (t) => idsOf(await readTopic(kafka, t), aggregateId)));
      const leader = sentBy.findIndex((ids) => ids.length > 0);
      expect(leader).toBeGreaterThanOrEqual(0);
      await relays[leader]!.stop();

      const secondIds = await writeEvents(aggregateId, 10);
      await allPublished(secondIds);
      await relays[1 - leader]!.stop();

      // Read after both stopped: these are final counts. With no crash, at least once means exactly once.
      const [byLeader, byStandby] = await Promise.all([topics[leader]!, topics[1 - leader]!].map(async (t) => idsOf(await readTopic(kafka, t), aggregateId)));
      expect({ byLeader, byStandby }).toEqual({ byLeader: firstIds, byStandby: secondIds });
    } finally {
      await Promise.all(relays.map((r) => r.stop()));
    }
  }, 300_000);

  it('keeps the events while the broker is down, then delivers the backlog in order per key, none lost, once it is back', async () => {
    privateKafka = await createPrivateKafka();
    await privateKafka.start();
    // Quiet: the relay's client logs every refused connection while the broker is down.
    const client = createKafka({ ...cfg, KAFKA_BROKERS: privateKafka.brokers }, { logLevel: logLevel.NOTHING, retry: { retries: 1 } });
    const reader = createKafka({ ...cfg, KAFKA_BROKERS: privateKafka.brokers }, { logLevel: logLevel.NOTHING });
    const topic = await createSmokeTopic(reader, PREFIX);
    const keys = [`agg-${randomUUID()}`, `agg-${randomUUID()}`];
    const written = new Map<string, string[]>(keys.map((k) => [k, []]));
    const write = async (perKey: number) => {
      const ids: string[] = [];
      for (let i = 0; i < perKey; i++) {
        for (const key of keys) {
          const [id] = await writeEvents(key, 1);
          written.get(key)!.push(id!);
          ids.push(id!);
        }
      }
      return ids;
    };
    const relay = newRelay(PREFIX, client, { maxBackoffMs: 1000 });
    relay.start();
    try {
      await allPublished(await write(3));

      await privateKafka.stop('SIGKILL');
      const duringOutage = await write(5);
      // The relay tries, fails, records why, and keeps trying; the rows stay unpublished.
      await eventually(
        'the relay retrying the backlog against the dead broker (or giving up on it)',
        async () => {
          const { rows } = await relayPool.query<{ attempts: number; published: number }>(
            'SELECT min(publish_attempts)::int AS attempts, count(published_at)::int AS published FROM outbox WHERE event_id = ANY($1::uuid[])',
            [duringOutage],
          );
          return rows[0]!.attempts >= 2 || rows[0]!.published > 0;
        },
        120_000,
      );
      expect(await unpublished(duringOutage)).toBe(duringOutage.length);
      const { rows } = await relayPool.query<{ last_error: string | null }>('SELECT last_error FROM outbox WHERE event_id = $1', [duringOutage[0]]);
      expect(rows[0]!.last_error).toEqual(expect.any(String));

      await privateKafka.start();
      await allPublished([...duringOutage, ...(await write(3))]);
    } finally {
      await relay.stop();
    }
    const messages = await readTopic(reader, topic);
    for (const key of keys) {
      // At least once: a batch cut by the crash may repeat; after dedupe by event id, each key's events are all
      // there, in the order they were written.
      const firstSeen = [...new Set(idsOf(messages, key))];
      expect({ key, ids: firstSeen }).toEqual({ key, ids: written.get(key) });
    }
  }, 600_000);
});
