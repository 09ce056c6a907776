/** register -> outbox -> relay -> Kafka user.events -> consumer group -> tenant provisioned, once. */
import { randomUUID } from 'node:crypto';
import type { Consumer } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { createPool, withTenant, type Pool } from '../../platform/db/pool';
import type { CloudEvent } from '../../platform/events/cloudevent';
import { startConsumer } from '../../platform/events/consumer';
import { createKafka } from '../../platform/events/kafka';
import { OutboxRelay } from '../../platform/events/outbox-relay';
import { createLogger } from '../../platform/logger';
import { TENANT_PROVISIONER, tenantProvisioner } from '../../workers/consumers/tenant-provisioner';
import { registerTenant, startApi, type TestApi } from '../support/api';
import { testConfig } from '../support/env';
import { eventually } from '../support/eventually';
import { ensureTestTopics } from '../support/kafka';

const cfg = testConfig();
const log = createLogger({ level: 'silent', service: 'test' });
const kafka = createKafka(cfg);
let api: TestApi;
let db: Pool;
let relayPool: Pool;
let mongo: MongoClient;
let relay: OutboxRelay;
let consumer: Consumer;
const seen: CloudEvent[] = [];

beforeAll(async () => {
  await ensureTestTopics(kafka, cfg);
  api = startApi();
  db = createPool(cfg.DATABASE_URL, 4);
  relayPool = createPool(cfg.DATABASE_RELAY_URL, 2);
  mongo = await new MongoClient(cfg.MONGO_URL).connect();
  const provision = tenantProvisioner({ db, analytics: mongo.db(cfg.MONGO_DATABASE) });
  relay = new OutboxRelay({ pool: relayPool, kafka, log, topicPrefix: cfg.KAFKA_TOPIC_PREFIX, pollIntervalMs: 200 });
  relay.start();
  consumer = await startConsumer({
    kafka,
    log,
    groupId: `${cfg.KAFKA_TOPIC_PREFIX}provisioner-${randomUUID()}`,
    topic: 'user.events',
    topicPrefix: cfg.KAFKA_TOPIC_PREFIX,
    handle: async (event) => {
      seen.push(event);
      await provision(event);
    },
  });
});

afterAll(async () => {
  await consumer.disconnect();
  await relay.stop();
  await mongo.db(cfg.MONGO_DATABASE).dropDatabase();
  await mongo.close();
  await api.close();
  await db.end();
  await relayPool.end();
});


describe('user.registered', () => {
  it('reaches user.events as a CloudEvent without personal data, and provisions the tenant', async () => {
    const tenant = await registerTenant(api);
    const event = await eventually('user.registered on Kafka', async () =>
      seen.find((e) => e.type === 'user.registered' && (e.data as { tenantId: string }).tenantId === tenant.tenantId),
    );
    expect(event).toMatchObject({ specversion: '1.0', tenantid: tenant.tenantId, data: { role: 'admin', tenantSlug: tenant.slug } });
    expect(JSON.stringify(event)).not.toContain(tenant.adminEmail);

    const provisionedAt = await eventually('provisioned_at', async () =>
      withTenant(db, tenant.tenantId, async (tx) => (await tx.query('SELECT provisioned_at FROM tenants')).rows[0]?.provisioned_at ?? undefined),
    );
    expect(provisionedAt).toBeInstanceOf(Date);
    const doc = await mongo.db(cfg.MONGO_DATABASE).collection<{ _id: string }>('tenants').findOne({ _id: tenant.tenantId });
    expect(doc).toMatchObject({ slug: tenant.slug, defaultCurrency: 'EUR' });
  });

  it('changes nothing when the same event is delivered again', async () => {
    const tenant = await registerTenant(api);
    const event = await eventually('user.registered on Kafka', async () =>
      seen.find((e) => e.type === 'user.registered' && (e.data as { tenantId: string }).tenantId === tenant.tenantId),
    );
    const provision = tenantProvisioner({ db, analytics: mongo.db(cfg.MONGO_DATABASE) });
    await eventually('first delivery handled', async () =>
      withTenant(db, tenant.tenantId, async (tx) => ((await tx.query('SELECT 1 FROM processed_events')).rowCount ? true : undefined)),
    );
    expect(await provision(event)).toBe('duplicate');
    const rows = await withTenant(db, tenant.tenantId, (tx) => tx.query('SELECT consumer FROM processed_events WHERE event_id = $1', [event.id]));
    expect(rows.rows).toEqual([{ consumer: TENANT_PROVISIONER }]);
  });
});
