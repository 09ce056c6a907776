/**
 * What registering an organisation sets up. In the registration transaction: the tenant and its chart of accounts.
 * Then register -> outbox -> relay -> Kafka user.events -> consumer group -> tenant provisioned, once.
 */
import { randomUUID } from 'node:crypto';
import { Partitioners, type Consumer, type Producer } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { createPool, withTenant, type Pool } from '../../platform/db/pool';
import { CLOUDEVENT_CONTENT_TYPE, type CloudEvent } from '../../platform/events/cloudevent';
import { startConsumer } from '../../platform/events/consumer';
import { createKafka } from '../../platform/events/kafka';
import { OutboxRelay } from '../../platform/events/outbox-relay';
import { createLogger } from '../../platform/logger';
import { TENANT_PROVISIONER, tenantProvisioner } from '../../workers/consumers/tenant-provisioner';
import { bearer, registerTenant, startApi, type TestApi } from '../support/api';
import { testConfig } from '../support/env';
import { eventually } from '../support/eventually';
import { ensureTestTopics } from '../support/kafka';

const cfg = testConfig();
const log = createLogger({ level: 'silent', service: 'test' });
const kafka = createKafka(cfg);
/** Kafka, the relay and a consumer group on a loaded machine: generous. */
const KAFKA_DEADLINE_MS = 60_000;
let api: TestApi;
let db: Pool;
let relayPool: Pool;
let mongo: MongoClient;
let relay: OutboxRelay;
let consumer: Consumer;
let producer: Producer;
/** Every user.registered delivery this file's consumer handled, with what the provisioner made of it. */
const handled: { event: CloudEvent; outcome: string }[] = [];

beforeAll(async () => {
  await ensureTestTopics(kafka, cfg);
  api = startApi();
  db = createPool(cfg.DATABASE_URL, 4);
  relayPool = createPool(cfg.DATABASE_RELAY_URL, 2);
  mongo = await new MongoClient(cfg.MONGO_URL).connect();
  const provision = tenantProvisioner({ db, analytics: mongo.db(cfg.MONGO_DATABASE) });
  relay = new OutboxRelay({ pool: relayPool, kafka, log, topicPrefix: cfg.KAFKA_TOPIC_PREFIX, pollIntervalMs: 200 });
  relay.start();
  producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  consumer = await startConsumer({
    kafka,
    log,
    groupId: `${cfg.KAFKA_TOPIC_PREFIX}provisioner-${randomUUID()}`,
    topic: 'user.events',
    topicPrefix: cfg.KAFKA_TOPIC_PREFIX,
    handle: async (event) => {
      handled.push({ event, outcome: await provision(event) });
    },
  });
});

afterAll(async () => {
  await consumer.disconnect();
  await producer.disconnect();
  await relay.stop();
  await mongo.db(cfg.MONGO_DATABASE).dropDatabase();
  await mongo.close();
  await api.close();
  await db.end();
  await relayPool.end();
});

const deliveriesFor = (tenantId: string) => handled.filter((h) => h.event.type === 'user.registered' && (h.event.data as { tenantId: string }).tenantId === tenantId);
const tenantDoc = (tenantId: string) => mongo.db(cfg.MONGO_DATABASE).collection<{ _id: string }>('tenants').findOne({ _id: tenantId });
const provisionedAt = (tenantId: string) =>
  withTenant(db, tenantId, async (tx) => (await tx.query<{ provisioned_at: Date | null }>('SELECT provisioned_at FROM tenants')).rows[0]!.provisioned_at);
const processedEvents = (tenantId: string) =>
  withTenant(db, tenantId, async (tx) => (await tx.query('SELECT consumer, event_id, processed_at FROM processed_events ORDER BY event_id')).rows);

describe('registration', () => {
  it('gives every newly registered tenant its chart of accounts, before its first request', async () => {
    const tenant = await registerTenant(api);
    await api.http().get('/api/me').set(bearer(tenant.admin.accessToken)).expect(200);
    const accounts = await withTenant(db, tenant.tenantId, async (tx) =>
      (await tx.query<{ code: string; type: string; system_key: string }>('SELECT code, type, system_key FROM ledger_accounts ORDER BY code')).rows,
    );
    // At least the accounts payments, refunds and fees post to (the chart may grow; these must be there).
    expect(accounts.map((a) => `${a.code} ${a.type} ${a.system_key}`)).toEqual(
      expect.arrayContaining([
        '1000 asset cash',
        '1100 asset provider_clearing',
        '1200 asset accounts_receivable',
        '2000 liability customer_deposits',
        '3000 equity equity',
        '3900 equity retained_earnings',
        '4000 revenue sales_revenue',
        '4900 revenue refunds',
        '5000 expense processing_fees',
      ]),
    );
  });
});

describe('user.registered', () => {
  it('reaches user.events as a CloudEvent without personal data, and provisions the tenant', async () => {
    const tenant = await registerTenant(api);
    const [delivery] = await eventually('user.registered handled', async () => deliveriesFor(tenant.tenantId).length > 0 && deliveriesFor(tenant.tenantId), KAFKA_DEADLINE_MS);
    expect(delivery!.event).toMatchObject({ specversion: '1.0', tenantid: tenant.tenantId, data: { role: 'admin', tenantSlug: tenant.slug } });
    expect(JSON.stringify(delivery!.event)).not.toContain(tenant.adminEmail);
    expect(delivery!.outcome).toBe('provisioned');

    expect(await provisionedAt(tenant.tenantId)).toBeInstanceOf(Date);
    expect(await tenantDoc(tenant.tenantId)).toMatchObject({ slug: tenant.slug, defaultCurrency: 'EUR', createdAt: new Date(delivery!.event.time) });
  });

  it('changes nothing when the same event is delivered again: not the analytics document, not provisioned_at', async () => {
    const tenant = await registerTenant(api);
    const [first] = await eventually('user.registered handled', async () => deliveriesFor(tenant.tenantId).length > 0 && deliveriesFor(tenant.tenantId), KAFKA_DEADLINE_MS);
    expect(first!.outcome).toBe('provisioned');
    const before = { doc: await tenantDoc(tenant.tenantId), provisionedAt: await provisionedAt(tenant.tenantId), processed: await processedEvents(tenant.tenantId) };
    expect(before.doc).not.toBeNull();
    expect(before.provisionedAt).toBeInstanceOf(Date);

    // At-least-once delivery: the very same CloudEvent arrives on the topic again (the relays may add copies too).
    const handledSoFar = deliveriesFor(tenant.tenantId).length;
    await producer.send({
      topic: `${cfg.KAFKA_TOPIC_PREFIX}user.events`,
      messages: [{ key: first!.event.subject, value: JSON.stringify(first!.event), headers: { 'content-type': CLOUDEVENT_CONTENT_TYPE, ce_id: first!.event.id } }],
    });
    const deliveries = await eventually(
      'the repeated delivery handled',
      async () => deliveriesFor(tenant.tenantId).length > handledSoFar && deliveriesFor(tenant.tenantId),
      KAFKA_DEADLINE_MS,
    );
    expect(deliveries.map((d) => d.event.id)).toEqual(deliveries.map(() => first!.event.id));
    expect(deliveries.map((d) => d.outcome)).toEqual(['provisioned', ...deliveries.slice(1).map(() => 'duplicate')]);

    expect(await tenantDoc(tenant.tenantId)).toEqual(before.doc);
    expect(await provisionedAt(tenant.tenantId)).toEqual(before.provisionedAt);
    expect(await processedEvents(tenant.tenantId)).toEqual(before.processed);
    expect(before.processed).toEqual([expect.objectContaining({ consumer: TENANT_PROVISIONER, event_id: first!.event.id })]);
  });
});
