/**
 * Crash safety: 50 concurrent payments while the worker is SIGKILLed right after provider captures (before the
 * ledger post) and the relay right after publishing to Kafka (before marking the rows sent), and both are
 * restarted. Every payment must end final, no payment charged twice, the books equal the provider's money, and
 * every outcome event on Kafka exactly once after dedupe by event id.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Consumer } from 'kafkajs';
import { createPool, withTenant, type Pool } from '../../platform/db/pool';
import type { CloudEvent } from '../../platform/events/cloudevent';
import { createKafka } from '../../platform/events/kafka';
import { accountBalance } from '../../platform/ledger';
import { apiKeyWithRole, bearer, registerTenant, startApi, type RegisteredTenant, type TestApi } from '../support/api';
import { testConfig } from '../support/env';
import { eventually } from '../support/eventually';
import { ensureTestTopics } from '../support/kafka';
import { supervise, type Supervised } from '../support/processes';

const cfg = testConfig();
const kafka = createKafka(cfg);
const PAYMENTS = 50;
let api: TestApi;
let db: Pool;
let tenant: RegisteredTenant;
let clientKey: string;
let consumer: Consumer;
const messages: CloudEvent[] = [];

beforeAll(async () => {
  await ensureTestTopics(kafka, cfg);
  api = startApi({ PAYMENT_SYNC_WAIT_MS: '0' });
  db = createPool(cfg.DATABASE_URL, 4);
  tenant = await registerTenant(api);
  clientKey = (await apiKeyWithRole(api, tenant, 'client')).key;
  consumer = kafka.consumer({ groupId: `${cfg.KAFKA_TOPIC_PREFIX}crash-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic: `${cfg.KAFKA_TOPIC_PREFIX}payment.events`, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void messages.push(JSON.parse(message.value!.toString()) as CloudEvent) });
});

afterAll(async () => {
  await consumer.disconnect();
  await api.close();
  await db.end();
});


describe('payments under crashes', () => {
  it('lose nothing and move no money twice when the worker and the relay are killed mid-flight', async () => {
    const processes: Supervised[] = [
      supervise('workers/main.ts', { WORKER_TASK_QUEUES: 'payments', LOG_LEVEL: 'error', FINFLOW_FAILPOINTS: 'after-provider-capture=12' }),
      supervise('workers/relay.ts', { LOG_LEVEL: 'error', FINFLOW_FAILPOINTS: 'relay-after-publish=3' }),
    ];
    try {
      // Every tenth card is declined, so failures flow through the same crashes.
      const answers = await Promise.all(
        Array.from({ length: PAYMENTS }, (_, i) =>
          api
            .http()
            .post('/api/payments')
            .set(bearer(clientKey))
            .set('Idempotency-Key', `crash-${i}-${randomUUID()}`)
            .send({ amountMinor: 1000 + i, currency: 'EUR', customerId: `cus_${i % 7}`, paymentMethod: i % 10 === 9 ? 'pm_card_chargeDeclined' : 'pm_card_visa' }),
        ),
      );
      for (const a of answers) expect([201, 202]).toContain(a.status);
      const ids = answers.map((a) => a.body.id as string);

      const statuses = () =>
        withTenant(db, tenant.tenantId, async (tx) => (await tx.query<{ id: string; status: string }>('SELECT id, status FROM payments WHERE id = ANY($1::uuid[])', [ids])).rows);
      await eventually('every payment final', async () => (await statuses()).every((p) => p.status === 'succeeded' || p.status === 'failed'), 240_000);
      const final = await statuses();
      const succeeded = final.filter((p) => p.status === 'succeeded').map((p) => p.id);
      expect(succeeded).toHaveLength(45);
      expect(final.filter((p) => p.status === 'failed')).toHaveLength(5);

      // The worker really died at the failpoint, more than once, and was restarted.
      expect(processes[0]!.deaths.filter((d) => d === 'SIGKILL').length).toBeGreaterThanOrEqual(2);

      // At most one charge per payment at the provider (each performed operation is logged atomically with it).
      const calls = await db.query<{ payment_id: string; charges: number }>(
        "SELECT payment_id, count(*)::int AS charges FROM provider_sandbox.calls WHERE payment_id = ANY($1) AND method IN ('charge', 'capture') GROUP BY payment_id",
        [ids],
      );
      expect(calls.rows).toHaveLength(45);
      expect(Math.max(...calls.rows.map((r) => r.charges))).toBe(1);

      // Captured minus refunded at the provider equals the clearing account in the ledger.
      const provider = await db.query<{ net: string }>(
        'SELECT coalesce(sum(amount_captured_minor - amount_refunded_minor), 0)::text AS net FROM provider_sandbox.intents WHERE payment_id = ANY($1)',
        [ids],
      );
      const clearing = await withTenant(db, tenant.tenantId, (tx) => accountBalance(tx, 'provider_clearing', 'EUR'));
      expect(clearing).toBe(Number(provider.rows[0]!.net));
      expect(clearing).toBe(succeeded.reduce((sum, id) => sum + 1000 + ids.indexOf(id), 0));

      // Every outcome event reaches Kafka; after dedupe by id, exactly one per payment.
      await eventually('every outcome on Kafka', () => ids.every((id) => messages.some((m) => m.subject === `payment/${id}` && m.type !== 'payment.created')), 60_000);
      expect(processes[1]!.deaths.filter((d) => d === 'SIGKILL').length).toBeGreaterThanOrEqual(1);
      const outcomes = new Map<string, Set<string>>();
      for (const m of messages.filter((m) => ids.includes(m.subject.slice('payment/'.length)) && m.type !== 'payment.created')) {
        outcomes.set(m.subject, (outcomes.get(m.subject) ?? new Set()).add(m.id));
      }
      expect(outcomes.size).toBe(PAYMENTS);
      for (const eventIds of outcomes.values()) expect(eventIds.size).toBe(1);
      const raw = messages.filter((m) => ids.includes(m.subject.slice('payment/'.length)) && m.type !== 'payment.created').length;
      fs.writeFileSync(
        path.join(__dirname, '../../.stack/crash-report.json'),
        JSON.stringify({ payments: PAYMENTS, succeeded: succeeded.length, workerDeaths: processes[0]!.deaths, relayDeaths: processes[1]!.deaths, maxChargesPerPayment: 1, clearingMinor: clearing, outcomeMessagesOnKafka: raw, outcomeEventsAfterDedupe: outcomes.size }, null, 2),
      );
    } finally {
      await Promise.all(processes.map((p) => p.stop()));
    }
  }, 420_000);
});
