/**
 * Refunds over HTTP on the real local stack: API -> RefundWorkflow on a worker -> the Stripe SDK against
 * stripe-mock (sandbox state in Postgres) -> the ledger. Answers are RFC 9457 problem+json when refused.
 */
import { randomUUID } from 'node:crypto';
import { withTenant, type Pool } from '../../platform/db/pool';
import { accountBalance } from '../../platform/ledger';
import { refundWorkflowId } from '../../workflows/payments/refund.workflow';
import { apiKeyWithRole, bearer, registerTenant, settledResource, startApi, type RegisteredTenant, type TestApi } from '../support/api';
import { testConfig } from '../support/env';
import { startPipeline, type Pipeline } from '../support/pipeline';

// A loaded machine may take seconds per saga: wait for the outcome rather than take a 202.
const cfg = testConfig({ PAYMENT_SYNC_WAIT_MS: '30000' });
let api: TestApi;
let pipeline: Pipeline;
let db: Pool;
let tenant: RegisteredTenant;
let clientKey: string;

beforeAll(async () => {
  api = startApi({ PAYMENT_SYNC_WAIT_MS: '30000' });
  pipeline = await startPipeline(cfg, ['payments'], 'payment.events');
  db = pipeline.db;
  tenant = await registerTenant(api);
  clientKey = (await apiKeyWithRole(api, tenant, 'finance')).key;
});

afterAll(async () => {
  await pipeline.close();
  await api.close();
});

/**
 * A payment, once its saga has decided (succeeded, failed, authorised...). The API answers 201 with the outcome when
 * the saga decides within PAYMENT_SYNC_WAIT_MS, else 202 while it runs (a loaded machine): then its Location is read
 * until it has.
 */
const DECIDED = ['succeeded', 'failed', 'canceled', 'expired', 'needs_attention'];
async function pay(overrides: { paymentMethod?: string; captureMethod?: 'manual' } = {}): Promise<{ id: string; status: string }> {
  // An automatic capture passes through authorized on its way to succeeded; a manual one waits there.
  const decided = overrides.captureMethod === 'manual' ? [...DECIDED, 'authorized'] : DECIDED;
  const res = await api
    .http()
    .post('/api/payments')
    .set(bearer(clientKey))
    .set('Idempotency-Key', randomUUID())
    .send({ amountMinor: 2000, currency: 'EUR', customerId: `cus_${randomUUID().slice(0, 8)}`, paymentMethod: 'pm_card_visa', ...overrides });
  return settledResource<{ id: string; status: string }>(api, clientKey, res, (p) => decided.includes(p.status), 120_000);
}
const refund = (paymentId: string, body: object, key: string = randomUUID()) =>
  api.http().post(`/api/payments/${paymentId}/refunds`).set(bearer(clientKey)).set('Idempotency-Key', key).send(body);
const payment = async (id: string) => (await api.http().get(`/api/payments/${id}`).set(bearer(clientKey)).expect(200)).body;
const refundRows = (paymentId: string) =>
  withTenant(db, tenant.tenantId, async (tx) => (await tx.query('SELECT amount_minor, status FROM payment_refunds WHERE payment_id = $1 ORDER BY created_at', [paymentId])).rows);
/** Refunds debit the `refunds` contra-revenue account (debit-normal): its balance is what was refunded. */
const refundsBooked = () => withTenant(db, tenant.tenantId, (tx) => accountBalance(tx, 'refunds', 'EUR'));

const refundRun = async (refundId: string) =>
  (await api.deps.temporal.workflow.getHandle(refundWorkflowId(tenant.tenantId, refundId)).describe()).runId;

function expectProblem(res: { status: number; headers: Record<string, string>; body: { type: string; status: number } }, type: string, status: number) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ type: `urn:finflow:problem:${type}`, status });
}

describe('refunds over HTTP', () => {
  it('refunds what is left when no amount is given, after a partial refund', async () => {
    const paid = await pay();
    expect(paid.status).toBe('succeeded');
    const booked = await refundsBooked();

    const partial = await refund(paid.id, { amountMinor: 500 }).expect(201);
    expect(partial.body).toMatchObject({ amountMinor: 500, status: 'succeeded' });
    const restKey = randomUUID();
    const rest = await refund(paid.id, { reason: 'requested_by_customer' }, restKey).expect(201);
    expect(rest.body).toMatchObject({ amountMinor: 1500, status: 'succeeded' });
    // A repeat of that request is the same refund, though nothing is left to refund now.
    expect((await refund(paid.id, { reason: 'requested_by_customer' }, restKey).expect(201)).body).toEqual(rest.body);

    expect(await payment(paid.id)).toMatchObject({ amountCapturedMinor: 2000, amountRefundedMinor: 2000 });
    expect(await refundRows(paid.id)).toEqual([{ amount_minor: '500', status: 'succeeded' }, { amount_minor: '1500', status: 'succeeded' }]);
    expect(await refundsBooked()).toBe(booked + 2000);
    expectProblem(await refund(paid.id, {}), 'unprocessable-entity', 422); // nothing is left
  });

  it('answers 409 problem+json for a payment that has not succeeded, and reserves nothing', async () => {
    const declined = await pay({ paymentMethod: 'pm_card_chargeDeclined' });
    expect(declined.status).toBe('failed');
    const authorised = await pay({ captureMethod: 'manual' });
    expect(authorised.status).toBe('authorized');

    for (const p of [declined, authorised]) {
      expectProblem(await refund(p.id, { amountMinor: 100 }), 'conflict', 409);
      expectProblem(await refund(p.id, {}), 'conflict', 409);
      expect(await refundRows(p.id)).toEqual([]);
      expect((await payment(p.id)).amountRefundedMinor).toBe(0);
    }
  });

  it('answers 422 problem+json to a used Idempotency-Key with another amount, and the same refund to a repeat', async () => {
    const paid = await pay();
    const booked = await refundsBooked();
    const key = randomUUID();
    const first = await refund(paid.id, { amountMinor: 500 }, key).expect(201);

    expectProblem(await refund(paid.id, { amountMinor: 700 }, key), 'unprocessable-entity', 422);
    expectProblem(await refund(paid.id, {}, key), 'unprocessable-entity', 422); // "the rest" is another amount too
    const run = await refundRun(first.body.refundId);
    const again = await refund(paid.id, { amountMinor: 500 }, key).expect(201);
    expect(again.body).toEqual(first.body);
    expect(await refundRun(first.body.refundId)).toBe(run); // answered from the books: the refund did not run again

    expect((await payment(paid.id)).amountRefundedMinor).toBe(500);
    expect(await refundRows(paid.id)).toEqual([{ amount_minor: '500', status: 'succeeded' }]);
    expect(await refundsBooked()).toBe(booked + 500);
  });

  it('keeps each caller’s Idempotency-Key its own: another caller’s same key is an independent refund, and learns nothing of the first', async () => {
    const other = (await apiKeyWithRole(api, tenant, 'finance')).key;
    const refundAs = (caller: string, paymentId: string, body: object, key: string) =>
      api.http().post(`/api/payments/${paymentId}/refunds`).set(bearer(caller)).set('Idempotency-Key', key).send(body);
    const paid = await pay();
    const booked = await refundsBooked();
    const key = randomUUID();
    const mine = await refundAs(clientKey, paid.id, { amountMinor: 300 }, key).expect(201);
    expect(mine.body).toMatchObject({ amountMinor: 300, status: 'succeeded' });

    // The other caller, same key, another body: its own refund, not "this key was used with a different request".
    const theirs = await refundAs(other, paid.id, { amountMinor: 500 }, key);
    expect({ status: theirs.status, body: theirs.body }).toEqual({ status: 201, body: { refundId: expect.any(String), amountMinor: 500, status: 'succeeded' } });
    expect(theirs.body.refundId).not.toBe(mine.body.refundId);
    // Each caller repeating its request gets its own answer; another body under its own key is refused as usual.
    expect((await refundAs(clientKey, paid.id, { amountMinor: 300 }, key).expect(201)).body).toEqual(mine.body);
    expect((await refundAs(other, paid.id, { amountMinor: 500 }, key).expect(201)).body).toEqual(theirs.body);
    expectProblem(await refundAs(other, paid.id, { amountMinor: 300 }, key), 'unprocessable-entity', 422);

    // A third caller sending the first caller's very request under its key gets a refund of its own, not the first's.
    const third = (await apiKeyWithRole(api, tenant, 'finance')).key;
    const copy = await refundAs(third, paid.id, { amountMinor: 300 }, key).expect(201);
    expect(copy.body).toMatchObject({ amountMinor: 300, status: 'succeeded' });
    expect(new Set([mine.body.refundId, theirs.body.refundId, copy.body.refundId]).size).toBe(3);

    expect(await payment(paid.id)).toMatchObject({ amountRefundedMinor: 1100 });
    expect(await refundRows(paid.id)).toEqual([
      { amount_minor: '300', status: 'succeeded' },
      { amount_minor: '500', status: 'succeeded' },
      { amount_minor: '300', status: 'succeeded' },
    ]);
    expect(await refundsBooked()).toBe(booked + 1100);
  });

  it('answers 422 problem+json to an Idempotency-Key already used for a refund of another payment', async () => {
    const [one, other] = [await pay(), await pay()];
    const key = randomUUID();
    await refund(one.id, { amountMinor: 300 }, key).expect(201);
    expectProblem(await refund(other.id, { amountMinor: 300 }, key), 'unprocessable-entity', 422);
    expect(await refundRows(other.id)).toEqual([]);
    expect((await payment(other.id)).amountRefundedMinor).toBe(0);
  });
});
