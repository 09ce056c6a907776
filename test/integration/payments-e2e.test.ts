/**
 * A payment end to end over HTTP on the real local stack: API -> Temporal -> worker -> the Stripe SDK against
 * stripe-mock (sandbox state in Postgres) -> ledger -> outbox -> relay -> Kafka, where payment.succeeded is read.
 * The API answers 201 when the saga settles within its short wait and 202 otherwise; both are accepted and the
 * outcome is read from the resource.
 */
import { randomUUID } from 'node:crypto';
import type { Response } from 'supertest';
import type { PaymentView } from '../../api/payments/service';
import { withTenant, type Pool } from '../../platform/db/pool';
import type { CloudEvent } from '../../platform/events/cloudevent';
import { accountBalance } from '../../platform/ledger';
import { PAYMENT_FAILURES, paymentWorkflowId, type PaymentResult } from '../../workflows/payments/payment.contract';
import { REFUND_FAILURES, refundWorkflowId, type RefundResult } from '../../workflows/payments/refund.contract';
import { apiKeyWithRole, bearer, registerTenant, settledResource, startApi, type RegisteredTenant, type TestApi } from '../support/api';
import { testConfig } from '../support/env';
import { eventually } from '../support/eventually';
import { startPipeline, type Pipeline } from '../support/pipeline';

const cfg = testConfig();
/** Kafka, the relay and a consumer group on a loaded machine: generous. */
const DEADLINE_MS = 60_000;
let api: TestApi;
let pipeline: Pipeline;
let db: Pool;
let received: CloudEvent[];
let tenant: RegisteredTenant;
let clientKey: string;

beforeAll(async () => {
  api = startApi();
  pipeline = await startPipeline(cfg, ['payments'], 'payment.events');
  ({ db, received } = pipeline);
  ({ tenant, key: clientKey } = await newClient());
});

afterAll(async () => {
  await pipeline.close();
  await api.close();
});

/** A tenant of its own and a client key in it. */
async function newClient(): Promise<{ tenant: RegisteredTenant; key: string }> {
  const t = await registerTenant(api);
  return { tenant: t, key: (await apiKeyWithRole(api, t, 'client')).key };
}

const pay = (key: string, body: object, as = clientKey) => api.http().post('/api/payments').set(bearer(as)).set('Idempotency-Key', key).send(body);
const body = (overrides: object = {}) => ({ amountMinor: 1099, currency: 'EUR', customerId: 'cus_e2e', paymentMethod: 'pm_card_visa', ...overrides });
/** Where a payment rests until someone acts (as the API defines it). */
const decided = (p: PaymentView) => ['succeeded', 'failed', 'canceled', 'expired', 'in_review'].includes(p.status) || (p.status === 'authorized' && p.captureMethod === 'manual');
const outcome = (res: Response, as = clientKey) => settledResource<PaymentView>(api, as, res, decided, DEADLINE_MS);

/** A refund's outcome: the API's answer when it came within the wait, else the refund workflow's result. */
async function refundOutcome(res: Response): Promise<'succeeded' | 'rejected'> {
  if (res.status === 201) return 'succeeded';
  if (res.status === 422) return 'rejected';
  expect(`refund answered ${res.status}`).toBe('refund answered 202');
  // A refusal is the workflow's result (completed, `rejected`), not a failed execution.
  const result = (await api.deps.temporal.workflow.getHandle(refundWorkflowId(tenant.tenantId, res.body.refundId)).result()) as RefundResult;
  if (result.status === 'rejected') expect(result.failure?.reason).toBe(REFUND_FAILURES.rejected);
  expect(['succeeded', 'rejected']).toContain(result.status);
  return result.status as 'succeeded' | 'rejected';
}

describe('a payment over HTTP', () => {
  it('succeeds, books the ledger, and its payment.succeeded CloudEvent arrives on Kafka', async () => {
    const own = await newClient();
    const before = await withTenant(db, own.tenant.tenantId, (tx) => accountBalance(tx, 'provider_clearing', 'EUR'));
    const res = await pay(randomUUID(), body(), own.key);
    expect(res.headers.location).toBe(`/api/payments/${res.body.id}`);
    const payment = await outcome(res, own.key);
    expect(payment).toMatchObject({ status: 'succeeded', amountMinor: 1099, currency: 'EUR', amountCapturedMinor: 1099 });
    // The provider's intent id, for finding the payment in the provider's dashboard (ops), is the one stored.
    const stored = await withTenant(db, own.tenant.tenantId, (tx) => tx.query<{ provider_ref: string }>('SELECT provider_ref FROM payments WHERE id = $1', [payment.id]));
    expect(payment.providerRef).toMatch(/^pi_/);
    expect(payment.providerRef).toBe(stored.rows[0]!.provider_ref);
    const event = await eventually('payment.succeeded on Kafka', () => received.find((e) => e.type === 'payment.succeeded' && e.subject === `payment/${payment.id}`), DEADLINE_MS);
    expect(event).toMatchObject({ specversion: '1.0', tenantid: own.tenant.tenantId, data: { paymentId: payment.id, amountMinor: 1099, currency: 'EUR', status: 'succeeded' } });
    await eventually('payment.created on Kafka', () => received.find((e) => e.type === 'payment.created' && e.subject === `payment/${payment.id}`), DEADLINE_MS);
    expect(await withTenant(db, own.tenant.tenantId, (tx) => accountBalance(tx, 'provider_clearing', 'EUR'))).toBe(before + 1099);
  });

  it('fails cleanly for a declined card: failed status, payment.failed, no ledger entry, the saga completed with the reason', async () => {
    const payment = await outcome(await pay(randomUUID(), body({ paymentMethod: 'pm_card_chargeDeclined' })));
    expect(payment).toMatchObject({ status: 'failed', failureCode: PAYMENT_FAILURES.declined });
    // A decline is an outcome: the saga's execution completes (not Failed, which means a defect) with the reason.
    const saga = api.deps.temporal.workflow.getHandle(paymentWorkflowId(tenant.tenantId, payment.id));
    expect((await saga.result()) as PaymentResult).toMatchObject({ status: 'failed', failure: { reason: PAYMENT_FAILURES.declined, cause: { type: 'ProviderDeclined' } } });
    expect((await saga.describe()).status.name).toBe('COMPLETED');
    await eventually('payment.failed on Kafka', () => received.find((e) => e.type === 'payment.failed' && e.subject === `payment/${payment.id}`), DEADLINE_MS);
    const entries = await withTenant(db, tenant.tenantId, (tx) => tx.query('SELECT 1 FROM journal_entries WHERE source_id = $1', [payment.id]));
    expect(entries.rowCount).toBe(0);
  });

  it('returns the same payment for the same key and body, and 422 for the same key with another body', async () => {
    const key = randomUUID();
    const first = await pay(key, body());
    const again = await pay(key, body());
    expect([first.status, again.status].every((s) => s === 201 || s === 202)).toBe(true);
    expect(again.body.id).toBe(first.body.id);
    const other = await pay(key, body({ amountMinor: 5000 })).expect(422);
    expect(other.body.type).toBe('urn:finflow:problem:unprocessable-entity');
    expect(await outcome(first)).toMatchObject({ id: first.body.id, status: 'succeeded', amountMinor: 1099 });
  });

  it('never makes two payments from concurrent requests with one key', async () => {
    const key = randomUUID();
    const answers = await Promise.all([1, 2, 3].map(() => pay(key, body({ customerId: 'cus_race' }))));
    for (const a of answers) expect([201, 202, 409]).toContain(a.status);
    const ids = new Set(answers.filter((a) => a.status < 300).map((a) => a.body.id));
    expect(ids.size).toBe(1);
    const rows = await withTenant(db, tenant.tenantId, (tx) => tx.query('SELECT id FROM payments WHERE idempotency_key = $1', [key]));
    expect(rows.rowCount).toBe(1);
  });

  it('captures a manual payment on request, and refunds it in two parts', async () => {
    const created = await outcome(await pay(randomUUID(), body({ captureMethod: 'manual', amountMinor: 2000 })));
    expect(created.status).toBe('authorized');
    const captured = await api.http().post(`/api/payments/${created.id}/capture`).set(bearer(clientKey)).expect(200);
    expect(captured.body).toMatchObject({ status: 'succeeded', amountCapturedMinor: 2000 });
    const refund = (amountMinor: number) =>
      api.http().post(`/api/payments/${created.id}/refunds`).set(bearer(clientKey)).set('Idempotency-Key', randomUUID()).send({ amountMinor });
    expect(await refundOutcome(await refund(1500))).toBe('succeeded');
    const over = await refund(600);
    expect(await refundOutcome(over)).toBe('rejected');
    if (over.status === 422) expect(over.body.type).toBe('urn:finflow:problem:unprocessable-entity');
    expect(await refundOutcome(await refund(500))).toBe('succeeded');
    const after = await api.http().get(`/api/payments/${created.id}`).set(bearer(clientKey)).expect(200);
    expect(after.body.amountRefundedMinor).toBe(2000);
    await api.http().post(`/api/payments/${created.id}/capture`).set(bearer(clientKey)).expect(409);
  });

  it('lists payments with cursor pagination, newest first', async () => {
    // Its own tenant: exactly the three payments made here, whatever else this file or run does.
    const own = await newClient();
    const made: string[] = [];
    for (const customerId of ['cus_p1', 'cus_p2', 'cus_p3']) {
      const res = await pay(randomUUID(), body({ customerId }), own.key);
      expect([201, 202]).toContain(res.status);
      made.push(res.body.id);
    }
    const page1 = await api.http().get('/api/payments?limit=2').set(bearer(own.key)).expect(200);
    expect(page1.body.data.map((p: { id: string }) => p.id)).toEqual([made[2], made[1]]);
    expect(page1.body.nextCursor).toEqual(expect.any(String));
    const page2 = await api.http().get(`/api/payments?limit=2&cursor=${encodeURIComponent(page1.body.nextCursor)}`).set(bearer(own.key)).expect(200);
    expect(page2.body.data.map((p: { id: string }) => p.id)).toEqual([made[0]]);
    expect(page2.body.nextCursor).toBeNull();
    await api.http().get('/api/payments?cursor=forged').set(bearer(own.key)).expect(400);
  });

  describe('with bad input', () => {
    it.each([
      ['a float amount', { amountMinor: 10.5 }, 'body.amountMinor'],
      ['a zero amount', { amountMinor: 0 }, 'body.amountMinor'],
      ['a huge amount', { amountMinor: 2 ** 60 }, 'body.amountMinor'],
      ['an amount as a string', { amountMinor: '1099' }, 'body.amountMinor'],
      ['an unknown currency', { currency: 'XXX' }, 'body.currency'],
      ['a lower-case currency', { currency: 'eur' }, 'body.currency'],
      ['card data instead of a token', { paymentMethod: '4242424242424242' }, 'body.paymentMethod'],
      ['an email as customer id', { customerId: 'ada@example.com' }, 'body.customerId'],
      ['an unknown field', { cardNumber: '4242' }, 'body'],
    ])('refuses %s with a 400 naming the field, and starts nothing', async (_name, overrides, field) => {
      const key = randomUUID();
      const res = await pay(key, body(overrides)).expect(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect([...new Set(res.body.errors.map((e: { path: string }) => e.path))]).toEqual([field]);
      const rows = await withTenant(db, tenant.tenantId, (tx) => tx.query('SELECT 1 FROM payments WHERE idempotency_key = $1', [key]));
      expect(rows.rowCount).toBe(0);
    });

    it('requires an Idempotency-Key', async () => {
      const res = await api.http().post('/api/payments').set(bearer(clientKey)).send(body()).expect(400);
      expect(res.body.errors[0].path).toBe('headers.idempotency-key');
    });
  });
});
