/**
 * The transactional outbox under accounting load, against real Postgres and Kafka: commits that take no
 * cluster-wide notification lock, an id per occurrence, partition keys by the aggregate that orders the events,
 * poisoned rows dead-lettered, published rows purged. The file owns a database (a relay leads per database, so no
 * other file's relay publishes or marks these rows) and topics under its own prefix on the stack's broker.
 */
import { randomUUID } from 'node:crypto';
import { logLevel, type KafkaMessage } from 'kafkajs';
import { Client } from 'pg';
import { createPaymentActivities, StripeMockSandboxProvider, stripeClient } from '../../activities/payments';
import { createPool, withTenant, type Pool } from '../../platform/db/pool';
import type { CloudEvent } from '../../platform/events/cloudevent';
import { createKafka } from '../../platform/events/kafka';
import { appendToOutbox, ONCE, outboxEventId, type OutboxEvent } from '../../platform/events/outbox';
import { OutboxRelay, type OutboxRelayOptions } from '../../platform/events/outbox-relay';
import { TOPICS, type TopicName } from '../../platform/events/topics';
import { createLogger } from '../../platform/logger';
import { createTenant, testConfig } from '../support/env';
import { eventually } from '../support/eventually';
import { deleteTopicsWithPrefix, ensureTestTopics, readTopic } from '../support/kafka';
import { createPrivateDatabase, type PrivateDatabase } from '../support/private-database';

const cfg = testConfig();
const kafka = createKafka(cfg);
const log = createLogger({ level: 'silent', service: 'test' });
/** This file's topics on the stack's broker; each test adds its own segment. */
const PREFIX = `${cfg.KAFKA_TOPIC_PREFIX}outbox-load.`;
let database: PrivateDatabase;
let app: Pool;
let relayPool: Pool;
let tenantId: string;

beforeAll(async () => {
  database = await createPrivateDatabase();
  app = createPool(database.env.DATABASE_URL, 4);
  relayPool = createPool(database.env.DATABASE_RELAY_URL, 4);
  tenantId = await createTenant(app);
});

afterAll(async () => {
  await deleteTopicsWithPrefix(kafka, PREFIX);
  await app?.end();
  await relayPool?.end();
  await database?.drop();
});

/**
 * Every FinFlow topic under `prefix` (a relay publishes whatever is pending in the database, whichever test wrote
 * it), `name` first with `configEntries`; returns that topic's full name.
 */
async function createTopics(prefix: string, name: TopicName, configEntries: { name: string; value: string }[] = []): Promise<string> {
  const topic = prefix + name;
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: TOPICS[name].partitions, configEntries }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
  await ensureTestTopics(kafka, cfg, prefix);
  return topic;
}

const newRelay = (topicPrefix: string, extra: Partial<OutboxRelayOptions> = {}) =>
  new OutboxRelay({ pool: relayPool, kafka, log, topicPrefix, pollIntervalMs: 100, maxBackoffMs: 500, ...extra });

const published = async (eventIds: string[]) =>
  Number((await relayPool.query('SELECT count(*) FROM outbox WHERE event_id = ANY($1::uuid[]) AND published_at IS NOT NULL', [eventIds])).rows[0].count);

const allPublished = (eventIds: string[]) =>
  eventually(`${eventIds.length} outbox rows marked published`, async () => (await published(eventIds)) === eventIds.length, 120_000);

type SmokeEvent = OutboxEvent<Record<string, unknown>> & { eventId: string; tenantId: string };
const smokeEvent = (aggregateId: string, extra: { tenantId?: string; data?: Record<string, unknown> } = {}): SmokeEvent => ({
  eventId: randomUUID(),
  type: 'platform.smoke.completed',
  tenantId: extra.tenantId ?? tenantId,
  aggregateType: 'smoke',
  aggregateId,
  data: extra.data ?? { aggregateId },
});

const eventIdsOn = (messages: KafkaMessage[]) => messages.map((m) => (JSON.parse(m.value!.toString()) as CloudEvent).id);

describe('the transactional outbox', () => {
  describe('when events are written', () => {
    it('commits them without NOTIFY (no cluster-wide notification lock per commit), and the relay finds them by polling', async () => {
      const prefix = `${PREFIX}poll.`;
      const topic = await createTopics(prefix, 'platform.events');
      // A listener on the channel the outbox used to notify: PostgreSQL takes its global notify lock at the commit
      // of every transaction that notified, so any notification here means commits serialise on that lock.
      const listener = new Client({ connectionString: database.env.DATABASE_RELAY_URL });
      await listener.connect();
      const notifications: string[] = [];
      listener.on('notification', (n) => notifications.push(n.channel));
      await listener.query('LISTEN finflow_outbox');
      const relay = newRelay(prefix);
      relay.start();
      try {
        const events = Array.from({ length: 5 }, () => smokeEvent(`poll-${randomUUID()}`));
        await Promise.all(events.map((e) => withTenant(app, tenantId, (tx) => appendToOutbox(tx, e))));
        await allPublished(events.map((e) => e.eventId));
        // A round trip on the listener delivers every notification committed before it.
        await listener.query('SELECT 1');
        expect(notifications).toEqual([]);
        expect(eventIdsOn(await readTopic(kafka, topic)).sort()).toEqual(events.map((e) => e.eventId).sort());
      } finally {
        await relay.stop();
        await listener.end();
      }
    }, 300_000);

    it('gives every occurrence of an event its own id (two partial payments of one invoice), and a retried occurrence the same id, written once', async () => {
      const invoiceId = randomUUID();
      const [first, second] = [randomUUID(), randomUUID()];
      // The business event's own id is the occurrence: each payment applied to the invoice is one invoice.paid.
      const paid = (paymentId: string, amountMinor: number) =>
        withTenant(app, tenantId, (tx) =>
          appendToOutbox(tx, { type: 'invoice.paid', occurrence: paymentId, tenantId, aggregateType: 'invoice', aggregateId: invoiceId, data: { invoiceId, paymentId, amountMinor } }),
        );
      expect([await paid(first, 4000), await paid(second, 6000), await paid(first, 4000)]).toEqual([true, true, false]);

      const { rows } = await relayPool.query<{ event_id: string; event: CloudEvent<{ paymentId: string }> }>(
        'SELECT event_id, event FROM outbox WHERE aggregate_id = $1 ORDER BY id',
        [invoiceId],
      );
      const idOf = (paymentId: string) => outboxEventId({ tenantId, aggregateType: 'invoice', aggregateId: invoiceId, type: 'invoice.paid', occurrence: paymentId });
      expect(rows.map((r) => ({ eventId: r.event_id, ceId: r.event.id, paymentId: r.event.data.paymentId }))).toEqual([
        { eventId: idOf(first), ceId: idOf(first), paymentId: first },
        { eventId: idOf(second), ceId: idOf(second), paymentId: second },
      ]);
      expect(idOf(first)).not.toBe(idOf(second));
    });
  });

  describe('partition keys', () => {
    /** A payment row as the API records it, optionally paying an invoice. */
    async function payment(invoiceRef: string | null): Promise<string> {
      const id = randomUUID();
      await withTenant(app, tenantId, (tx) =>
        tx.query(
          `INSERT INTO payments (id, tenant_id, idempotency_key, request_hash, customer_id, amount_minor, currency, capture_method, invoice_ref)
           VALUES ($1, $2, $3, '\\x00', 'cus_keys', 2500, 'EUR', 'automatic', $4)`,
          [id, tenantId, `key-${id}`, invoiceRef],
        ),
      );
      return id;
    }

    it("keys a payment's events by the invoice it pays, like the invoice's own events, and a payment without one by itself", async () => {
      const prefix = `${PREFIX}keys.`;
      const topic = await createTopics(prefix, 'payment.events');
      const invoiceId = randomUUID();
      const [paysInvoice, standalone] = [await payment(invoiceId), await payment(null)];
      await withTenant(app, tenantId, (tx) =>
        appendToOutbox(tx, { type: 'invoice.created', occurrence: ONCE, tenantId, aggregateType: 'invoice', aggregateId: invoiceId, data: { invoiceId } }),
      );
      // The payments' outcome events, written by the payment activity itself (it reads the invoice from the row).
      const activities = createPaymentActivities({
        db: app,
        provider: new StripeMockSandboxProvider(stripeClient({ mockUrl: cfg.STRIPE_MOCK_URL }), app),
        risk: { maxAmountMinor: 1_000_000, reviewAmountMinor: 1_000_000, velocityPerHour: 1000, deniedCustomers: new Set() },
      });
      for (const paymentId of [paysInvoice, standalone]) await activities.failPayment({ tenantId, paymentId, failureCode: 'card_declined' });

      const relay = newRelay(prefix);
      relay.start();
      try {
        const { rows } = await relayPool.query<{ event_id: string }>('SELECT event_id FROM outbox WHERE aggregate_id = ANY($1::text[])', [[invoiceId, paysInvoice, standalone]]);
        expect(rows).toHaveLength(3);
        await allPublished(rows.map((r) => r.event_id));
      } finally {
        await relay.stop();
      }
      const keyBySubject = new Map((await readTopic(kafka, topic)).map((m) => [(JSON.parse(m.value!.toString()) as CloudEvent).subject, m.key?.toString()]));
      expect({
        invoice: keyBySubject.get(`invoice/${invoiceId}`),
        paymentOfInvoice: keyBySubject.get(`payment/${paysInvoice}`),
        standalonePayment: keyBySubject.get(`payment/${standalone}`),
      }).toEqual({ invoice: invoiceId, paymentOfInvoice: invoiceId, standalonePayment: standalone });
    }, 300_000);
  });

  describe('a row the broker refuses', () => {
    it('is dead-lettered after N rejections, with its reason and attempts, listed by the ops query, while the rows behind it (other tenants too) are published', async () => {
      const prefix = `${PREFIX}dead.`;
      // A private topic that takes records up to 8 KiB: the broker itself refuses the poisoned event.
      const topic = await createTopics(prefix, 'platform.events', [{ name: 'max.message.bytes', value: '8192' }]);
      const otherTenant = await createTenant(app);
      const poisoned = smokeEvent(`dead-${randomUUID()}`, { data: { blob: 'x'.repeat(20_000) } });
      const behind = [smokeEvent(`dead-${randomUUID()}`), smokeEvent(`dead-${randomUUID()}`, { tenantId: otherTenant }), smokeEvent(`dead-${randomUUID()}`, { tenantId: otherTenant })];
      for (const e of [poisoned, ...behind]) await withTenant(app, e.tenantId, (tx) => appendToOutbox(tx, e));

      // Quiet: kafkajs logs every refused produce request at error level.
      const relay = newRelay(prefix, { deadLetterAfter: 3, kafka: createKafka(cfg, { logLevel: logLevel.NOTHING }) });
      relay.start();
      try {
        await allPublished(behind.map((e) => e.eventId));
        await eventually('the poisoned row dead-lettered', async () => (await relayPool.query("SELECT 1 FROM outbox WHERE event_id = $1 AND status = 'dead'", [poisoned.eventId])).rowCount === 1, 120_000);
      } finally {
        await relay.stop();
      }
      // The ops query, as the relay role runs it.
      const { rows } = await relayPool.query('SELECT event_id, tenant_id, topic, event_type, rejections, publish_attempts, reason, dead_at FROM outbox_dead_letters');
      expect(rows).toEqual([
        {
          event_id: poisoned.eventId,
          tenant_id: tenantId,
          topic: 'platform.events',
          event_type: 'platform.smoke.completed',
          rejections: 3,
          publish_attempts: expect.any(Number),
          reason: expect.stringMatching(/^MESSAGE_TOO_LARGE: /),
          dead_at: expect.any(Date),
        },
      ]);
      expect(rows[0].publish_attempts).toBeGreaterThanOrEqual(3);
      expect((await relayPool.query('SELECT published_at FROM outbox WHERE event_id = $1', [poisoned.eventId])).rows).toEqual([{ published_at: null }]);
      expect(eventIdsOn(await readTopic(kafka, topic)).sort()).toEqual(behind.map((e) => e.eventId).sort());
    }, 300_000);
  });

  describe('retention', () => {
    /** Writes n events and sets their state as the relay role would have, `hoursAgo`. */
    async function rowsIn(state: 'published' | 'dead' | 'pending', hoursAgo: number, n = 1): Promise<string[]> {
      const events = Array.from({ length: n }, () => smokeEvent(`purge-${randomUUID()}`));
      for (const e of events) await withTenant(app, tenantId, (tx) => appendToOutbox(tx, e));
      const ids = events.map((e) => e.eventId);
      const at = `now() - make_interval(hours => ${hoursAgo})`;
      if (state === 'published') await relayPool.query(`UPDATE outbox SET status = 'published', published_at = ${at} WHERE event_id = ANY($1::uuid[])`, [ids]);
      if (state === 'dead') await relayPool.query(`UPDATE outbox SET status = 'dead', dead_at = ${at}, rejections = 5 WHERE event_id = ANY($1::uuid[])`, [ids]);
      return ids;
    }

    const present = async (ids: string[]) =>
      (await relayPool.query<{ event_id: string }>('SELECT event_id FROM outbox WHERE event_id = ANY($1::uuid[])', [ids])).rows.map((r) => r.event_id).sort();

    it('purges published rows past OUTBOX_RETENTION_HOURS in small batches, and keeps younger published rows, pending rows and dead letters', async () => {
      const old = await rowsIn('published', 169, 5);
      const kept = [...(await rowsIn('published', 167)), ...(await rowsIn('dead', 500)), ...(await rowsIn('pending', 0))];
      const relay = newRelay(`${PREFIX}purge.`, { retentionHours: 168, purgeBatchSize: 2 });
      const batches: number[] = [];
      for (let purged = -1; purged !== 0; ) batches.push((purged = await relay.purge()));
      expect(batches).toEqual([2, 2, 1, 0]);
      expect(await present([...old, ...kept])).toEqual([...kept].sort());
      // The database keeps what the purge must not take, whoever asks: the relay role may delete published rows only.
      const refusals = await Promise.all(kept.slice(1).map((id) => relayPool.query('DELETE FROM outbox WHERE event_id = $1', [id]).then(() => 'deleted', (e: Error) => e.message)));
      expect(refusals).toEqual([expect.stringMatching(/^permission denied: outbox row \d+ is dead/), expect.stringMatching(/^permission denied: outbox row \d+ is pending/)]);
    });

    it('is run by the leading relay while it publishes', async () => {
      const prefix = `${PREFIX}purge-loop.`;
      await createTopics(prefix, 'platform.events');
      const old = await rowsIn('published', 200, 3);
      const relay = newRelay(prefix, { retentionHours: 168, purgeIntervalMs: 200 });
      relay.start();
      try {
        const fresh = await rowsIn('pending', 0);
        await allPublished(fresh);
        await eventually('the old published rows purged', async () => (await present(old)).length === 0, 120_000);
        expect(await present(fresh)).toEqual(fresh);
      } finally {
        await relay.stop();
      }
    }, 300_000);
  });
});
