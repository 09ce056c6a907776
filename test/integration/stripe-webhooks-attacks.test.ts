/**
 * POST /api/webhooks/stripe attacked: bodies that are not Stripe's (another media type, malformed or oversized JSON,
 * a signed body in a shape Stripe never sends, values out of range), the same dispute delivered concurrently, and a
 * delivery whose signal to the saga fails (Temporal unreachable). Each must be a 4xx problem+json or a 200 as
 * documented, never a 5xx for what the request says, and never book or swallow anything it should not. Runs on the
 * real API and database; the payments are rows with a stored intent id, as the saga leaves them.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { StripeWebhooks } from '../../api/webhooks/stripe-service';
import { withTenant, type Pool } from '../../platform/db/pool';
import { createLogger } from '../../platform/logger';
import { accountBalance } from '../../platform/ledger';
import { registerTenant, startApi, type RegisteredTenant, type TestApi } from '../support/api';
import { testConfig } from '../support/env';
import { signature, startStripeDouble, type StripeDouble, type StripeEvent } from '../support/stripe-double';

const SECRET = 'whsec_webhookAttackTest';
let api: TestApi;
let double: StripeDouble;
let db: Pool;
let tenant: RegisteredTenant;

beforeAll(async () => {
  api = startApi({ STRIPE_WEBHOOK_SECRET: SECRET });
  db = api.deps.db;
  double = await startStripeDouble({ webhookSecret: SECRET }); // no endpoint: this file sends every event itself
  tenant = await registerTenant(api);
});
afterAll(async () => {
  await double?.close();
  await api?.close();
});

/** A succeeded payment row with its charged intent at the double, and that intent's dispute event (signed by the test). */
async function disputedPayment(amountMinor = 2000, disputedMinor?: number): Promise<{ paymentId: string; intentId: string; dispute: StripeEvent }> {
  const paymentId = randomUUID();
  const intent = double.book.create({ amount: amountMinor, currency: 'eur', payment_method: 'pm_card_visa', capture_method: 'automatic', metadata: { finflow_payment_id: paymentId }, confirm: true });
  await withTenant(db, tenant.tenantId, (tx) =>
    tx.query(
      `INSERT INTO payments (id, tenant_id, idempotency_key, request_hash, customer_id, amount_minor, currency, capture_method, status, provider, provider_ref, amount_captured_minor)
       VALUES ($1, $2, $3, '\\x00', 'cus_attack', $4, 'EUR', 'automatic', 'succeeded', 'stripe', $5, $4)`,
      [paymentId, tenant.tenantId, `k-${paymentId}`, amountMinor, intent.id],
    ),
  );
  double.book.dispute(intent.id, disputedMinor);
  await double.webhooks.settled();
  const dispute = [...double.webhooks.events.values()].filter((e) => e.type === 'charge.dispute.created' && e.data.object.payment_intent === intent.id).at(-1)!;
  return { paymentId, intentId: intent.id, dispute };
}
const lastEvent = (type: string, intentId: string) => [...double.webhooks.events.values()].filter((e) => e.type === type && e.data.object.id === intentId).at(-1)!;

const post = (body: string | Buffer, contentType = 'application/json', header = signature(body.toString(), SECRET)) =>
  api.http().post('/api/webhooks/stripe').set('Content-Type', contentType).set('Stripe-Signature', header).send(body);
const recorded = (eventId: string) =>
  withTenant(db, tenant.tenantId, async (tx) => (await tx.query('SELECT outcome, detail FROM payment_provider_events WHERE event_id = $1', [eventId])).rows);
const anyRecord = (eventId: string) =>
  withTenant(db, tenant.tenantId, async (tx) => Number((await tx.query('SELECT count(*) FROM payment_provider_events WHERE event_id = $1', [eventId])).rows[0].count));
const payment = (paymentId: string) =>
  withTenant(db, tenant.tenantId, async (tx) => (await tx.query('SELECT status, amount_disputed_minor FROM payments WHERE id = $1', [paymentId])).rows[0]);
const disputes = () => withTenant(db, tenant.tenantId, (tx) => accountBalance(tx, 'disputes', 'EUR'));

describe('POST /api/webhooks/stripe under attack', () => {
  describe('bodies Stripe never sends', () => {
    it.each([
      ['in another media type, signed', (b: string) => post(b, 'text/plain'), 415],
      ['as form data, signed', (b: string) => post(`payload=${encodeURIComponent(b)}`, 'application/x-www-form-urlencoded'), 415],
      ['as malformed JSON, signed', (b: string) => post(b.slice(0, -1)), 400],
      ['as a JSON array, signed', (b: string) => post(`[${b}]`), 400],
      ['over the body limit, signed', (b: string) => post(JSON.stringify({ ...JSON.parse(b), padding: 'x'.repeat(2 * 1024 * 1024) })), 413],
    ])('refuses a dispute event sent %s with a 4xx problem+json, booking nothing', async (_name, send, status) => {
      const { paymentId, dispute } = await disputedPayment();
      const before = await disputes();
      const res = await send(JSON.stringify(dispute));
      expect(res.status).toBe(status);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(await anyRecord(dispute.id)).toBe(0);
      expect(await payment(paymentId)).toEqual({ status: 'succeeded', amount_disputed_minor: '0' });
      expect(await disputes()).toBe(before);
    });

    it.each([
      ['no data.object', (e: StripeEvent) => ({ ...e, data: {} })],
      ['an intent id that is not one', (e: StripeEvent) => ({ ...e, type: 'payment_intent.succeeded', data: { object: { id: "pi_x'; DROP TABLE payments; --" } } })],
      ['a negative dispute amount', (e: StripeEvent) => ({ ...e, data: { object: { ...e.data.object, amount: -2000 } } })],
      ['a fractional dispute amount', (e: StripeEvent) => ({ ...e, data: { object: { ...e.data.object, amount: 1999.5 } } })],
      ['a dispute date no calendar holds', (e: StripeEvent) => ({ ...e, data: { object: { ...e.data.object, created: 9_000_000_000_000 } } })],
      ['an event id that is not one', (e: StripeEvent) => ({ ...e, id: 'evt_../../x' })],
    ])('answers a signed event with %s with a 400 problem+json, booking nothing', async (_name, alter) => {
      const { paymentId, dispute } = await disputedPayment();
      const before = await disputes();
      const body = JSON.stringify(alter(dispute));
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(await payment(paymentId)).toEqual({ status: 'succeeded', amount_disputed_minor: '0' });
      expect(await disputes()).toBe(before);
    });
  });

  it.each([
    ['a dispute without its reason', (e: StripeEvent) => ({ ...e, data: { object: { ...e.data.object, reason: undefined } } }), 'body.data.object.reason'],
    ['an event without its id', (e: StripeEvent) => ({ ...e, id: undefined }), 'body.id'],
  ])('names where the problem is in the event for %s', async (_name, alter, path) => {
    const { dispute } = await disputedPayment();
    const res = await post(JSON.stringify(alter(dispute)));
    expect([res.status, res.body.errors?.map((e: { path: string }) => e.path)]).toEqual([400, [path]]);
  });

  it('books a signed dispute dated in the future no later than it was received (no entry, no period in the year 9999)', async () => {
    const { paymentId, dispute } = await disputedPayment();
    const received = Date.now();
    const res = await post(JSON.stringify({ ...dispute, data: { object: { ...dispute.data.object, created: 253_402_300_799 } } }));
    expect(res.status).toBe(200);
    const dated = await withTenant(db, tenant.tenantId, async (tx) => ({
      entries: (await tx.query<{ effective_at: Date }>("SELECT effective_at FROM journal_entries WHERE source_id = $1 AND description LIKE '%disputed%'", [paymentId])).rows,
      periods: Number((await tx.query("SELECT count(*) FROM accounting_periods WHERE period_start > now() + interval '2 years'")).rows[0].count),
    }));
    expect(dated.entries).toHaveLength(1);
    expect(dated.entries[0]!.effective_at.getTime()).toBeLessThanOrEqual(Date.now());
    expect(dated.entries[0]!.effective_at.getTime()).toBeGreaterThan(received - 60_000);
    expect(dated.periods).toBe(0);
  });

  it('books a dispute delivered ten times at once exactly once', async () => {
    // A part of the capture: booked twice or three times, it would still fit within what was captured.
    const { paymentId, dispute } = await disputedPayment(3000, 1000);
    const before = await disputes();
    const body = JSON.stringify(dispute);
    const answers = await Promise.all(Array.from({ length: 10 }, () => post(body)));
    expect(answers.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(answers.map((r) => r.body.outcome).sort()).toEqual(['disputed', ...Array(9).fill('duplicate')]);
    expect(await payment(paymentId)).toEqual({ status: 'disputed', amount_disputed_minor: '1000' });
    expect(await disputes()).toBe(before + 1000);
  });

  it('records a dispute in another currency for review, booking nothing; one beyond the capture books the capture, the rest flagged for review', async () => {
    const { paymentId, dispute } = await disputedPayment();
    const before = await disputes();
    const usd = { ...dispute, id: `evt_${randomUUID().replace(/-/g, '')}`, data: { object: { ...dispute.data.object, id: `dp_${randomUUID().replace(/-/g, '')}`, currency: 'usd' } } };
    expect((await post(JSON.stringify(usd)).expect(200)).body).toEqual({ received: true, outcome: 'needs_review' });
    expect(await payment(paymentId)).toEqual({ status: 'succeeded', amount_disputed_minor: '0' });
    expect(await disputes()).toBe(before);
    const more = { ...dispute, id: `evt_${randomUUID().replace(/-/g, '')}`, data: { object: { ...dispute.data.object, id: `dp_${randomUUID().replace(/-/g, '')}`, amount: 2001 } } };
    expect((await post(JSON.stringify(more)).expect(200)).body).toEqual({ received: true, outcome: 'needs_review' });
    expect(await recorded(more.id)).toEqual([{ outcome: 'needs_review', detail: 'the provider disputes 2001 minor units, 2000 were left (captured 2000, refunded 0, disputed before 0): 2000 booked' }]);
    expect(await payment(paymentId)).toEqual({ status: 'disputed', amount_disputed_minor: '2000' });
    expect(await disputes()).toBe(before + 2000);
  });

  it('does not swallow an intent event whose signal to the saga failed: it is not recorded, and Stripe’s retry is acted on', async () => {
    const { intentId } = await disputedPayment();
    const event = lastEvent('payment_intent.succeeded', intentId);
    // The route's own code with a Temporal client that cannot signal (a namespace the server does not have).
    const connection = await Connection.connect({ address: testConfig().TEMPORAL_ADDRESS });
    try {
      const unreachable = new StripeWebhooks({ db, temporal: new Client({ connection, namespace: `no-such-namespace-${randomUUID()}` }), secret: SECRET, log: createLogger({ level: 'silent', service: 'test' }) });
      const body = JSON.stringify(event);
      await expect(unreachable.receive(body, signature(body, SECRET))).rejects.toThrow();
    } finally {
      await connection.close();
    }
    expect(await recorded(event.id)).toEqual([]);
    // Stripe sends it again: acted on, not answered "duplicate".
    const again = JSON.stringify(event);
    expect((await post(again).expect(200)).body).toEqual({ received: true, outcome: 'saga_ended' });
    expect(await recorded(event.id)).toEqual([{ outcome: 'saga_ended', detail: null }]);
  });
});
