/**
 * Payments attacked over HTTP on the real stack (API -> Temporal -> worker -> the Stripe SDK against stripe-mock,
 * sandbox state in Postgres -> ledger): concurrent refunds beyond the capture, concurrent captures, a capture racing
 * a cancellation, refunds of payments that have not succeeded or are disputed, and another tenant's ids on every
 * route that takes one. Money moves at most once and never beyond what was captured; another tenant's payment is
 * absent (404) and unchanged.
 */
import { randomUUID } from 'node:crypto';
import type { Response } from 'supertest';
import type { PaymentView } from '../../api/payments/service';
import { bookDispute, closeDispute } from '../../modules/payments';
import { withTenant, type Pool } from '../../platform/db/pool';
import { accountBalance } from '../../platform/ledger';
import { refundWorkflowId, type RefundResult } from '../../workflows/payments/refund.contract';
import { apiKeyWithRole, bearer, registerTenant, settledResource, startApi, type RegisteredTenant, type TestApi } from '../support/api';
import { testConfig } from '../support/env';
import { eventually } from '../support/eventually';
import { startPipeline, type Pipeline } from '../support/pipeline';

const cfg = testConfig();
const DEADLINE_MS = 90_000;
let api: TestApi;
let pipeline: Pipeline;
let db: Pool;
let tenant: RegisteredTenant;
let key: string;
/** Another tenant's finance key (reads every payment of its tenant, captures, cancels, refunds) and ops key (reviews). */
let other: { finance: string; ops: string };

beforeAll(async () => {
  api = startApi();
  pipeline = await startPipeline(cfg, ['payments'], 'payment.events');
  db = pipeline.db;
  tenant = await registerTenant(api);
  key = (await apiKeyWithRole(api, tenant, 'client')).key;
  const t = await registerTenant(api);
  other = { finance: (await apiKeyWithRole(api, t, 'finance')).key, ops: (await apiKeyWithRole(api, t, 'ops')).key };
});
afterAll(async () => {
  await pipeline?.close();
  await api?.close();
});

const pay = (overrides: object = {}, as = key) =>
  api.http().post('/api/payments').set(bearer(as)).set('Idempotency-Key', randomUUID()).send({ amountMinor: 2000, currency: 'EUR', customerId: 'cus_attack', paymentMethod: 'pm_card_visa', ...overrides });
const rests = (p: PaymentView) => ['succeeded', 'failed', 'canceled', 'expired', 'needs_attention'].includes(p.status) || (p.status === 'authorized' && p.captureMethod === 'manual');
const settled = (res: Response) => settledResource<PaymentView>(api, key, res, rests, DEADLINE_MS);
const get = async (id: string, as = key) => (await api.http().get(`/api/payments/${id}`).set(bearer(as)).expect(200)).body as PaymentView;
const refund = (paymentId: string, amountMinor?: number, as = key) =>
  api.http().post(`/api/payments/${paymentId}/refunds`).set(bearer(as)).set('Idempotency-Key', randomUUID()).send(amountMinor ? { amountMinor } : {});
/** A refund's final status: the API's answer, or its workflow's result when it answered 202. */
async function refundStatus(res: Response): Promise<string> {
  if (res.status === 422) return 'rejected';
  if (res.status === 201) return res.body.status;
  expect(res.status).toBe(202);
  return ((await api.deps.temporal.workflow.getHandle(refundWorkflowId(tenant.tenantId, res.body.refundId)).result()) as RefundResult).status;
}
const sandbox = (paymentId: string) =>
  withTenant(db, tenant.tenantId, async (tx) => ({
    intent: (await tx.query('SELECT status, amount_captured_minor, amount_refunded_minor FROM provider_sandbox.intents WHERE payment_id = $1', [paymentId])).rows[0],
    refunded: Number((await tx.query('SELECT coalesce(sum(amount_minor), 0) AS s FROM provider_sandbox.refunds WHERE payment_id = $1', [paymentId])).rows[0].s),
    captures: Number((await tx.query("SELECT count(*) FROM provider_sandbox.calls WHERE payment_id = $1 AND method = 'capture'", [paymentId])).rows[0].count),
  }));
const entries = (paymentId: string) =>
  withTenant(db, tenant.tenantId, async (tx) => (await tx.query<{ description: string }>('SELECT description FROM journal_entries WHERE source_id = $1 ORDER BY effective_at', [paymentId])).rows.map((r) => r.description));
const balance = (account: string) => withTenant(db, tenant.tenantId, (tx) => accountBalance(tx, account, 'EUR'));

describe('money under attack', () => {
  it('refunds never beyond the capture when eight refunds of 600 race on a payment of 2000', async () => {
    const payment = await settled(await pay());
    expect(payment.status).toBe('succeeded');
    const refunds = await balance('refunds');
    const statuses = await Promise.all((await Promise.all(Array.from({ length: 8 }, () => refund(payment.id, 600)))).map(refundStatus));
    const succeeded = statuses.filter((s) => s === 'succeeded').length;
    expect(succeeded).toBe(3);
    expect(statuses.filter((s) => s !== 'succeeded').every((s) => s === 'rejected')).toBe(true);
    expect((await get(payment.id)).amountRefundedMinor).toBe(1800);
    expect((await sandbox(payment.id)).refunded).toBe(1800);
    expect(await balance('refunds')).toBe(refunds + 1800);
    // What is left, refunded by two full refunds at once: one takes the 200, the other is refused.
    const full = await Promise.all((await Promise.all([refund(payment.id), refund(payment.id)])).map(refundStatus));
    expect(full.sort()).toEqual(['rejected', 'succeeded']);
    expect((await sandbox(payment.id)).refunded).toBe(2000);
  });

  it('captures once when five captures race, and a capture racing a cancellation ends one way, its money and books agreeing', async () => {
    const a = await settled(await pay({ captureMethod: 'manual' }));
    expect(a.status).toBe('authorized');
    const answers = await Promise.all(Array.from({ length: 5 }, () => api.http().post(`/api/payments/${a.id}/capture`).set(bearer(key))));
    expect(answers.every((r) => r.status === 200 || r.status === 409)).toBe(true);
    expect((await get(a.id)).status).toBe('succeeded');
    expect(await sandbox(a.id)).toMatchObject({ captures: 1, intent: { status: 'succeeded', amount_captured_minor: '2000' } });
    expect(await entries(a.id)).toHaveLength(1);

    const b = await settled(await pay({ captureMethod: 'manual' }));
    const raced = await Promise.all([api.http().post(`/api/payments/${b.id}/capture`).set(bearer(key)), api.http().post(`/api/payments/${b.id}/cancel`).set(bearer(key))]);
    expect(raced.every((r) => r.status === 200 || r.status === 409)).toBe(true);
    const end = await eventually('the raced payment to end', async () => {
      const p = await get(b.id);
      return ['succeeded', 'canceled'].includes(p.status) ? p : undefined;
    }, DEADLINE_MS);
    const money = await sandbox(b.id);
    if (end.status === 'succeeded') {
      expect(money.intent).toMatchObject({ status: 'succeeded', amount_captured_minor: '2000' });
      expect(await entries(b.id)).toHaveLength(1);
    } else {
      expect(end.status).toBe('canceled');
      expect(money.intent.status).toBe('canceled');
      expect(money.captures).toBe(0);
      expect(await entries(b.id)).toHaveLength(0);
    }
  });

  it('refuses to refund a payment that has not succeeded (authorised, declined: 409) or is disputed (422, also when repeated), nothing moves', async () => {
    const authorized = await settled(await pay({ captureMethod: 'manual' }));
    const declined = await settled(await pay({ paymentMethod: 'pm_card_chargeDeclined' }));
    const disputed = await settled(await pay());
    expect([authorized.status, declined.status, disputed.status]).toEqual(['authorized', 'failed', 'succeeded']);
    const notice = { event: { eventId: `evt_${randomUUID().replace(/-/g, '')}`, provider: 'stripe', type: 'charge.dispute.created', providerRef: null }, tenantId: tenant.tenantId, paymentId: disputed.id };
    const disputeId = `dp_${randomUUID().replace(/-/g, '')}`;
    const dispute = { ...notice, disputeId, amountMinor: 500, currency: 'eur', reason: 'fraudulent', openedAt: new Date() };
    expect(await bookDispute(db, dispute)).toBe('disputed');
    for (const [p, status] of [[authorized, 409], [declined, 409], [disputed, 422]] as const) {
      const res = await refund(p.id, 100);
      expect(res.status).toBe(status);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect((await sandbox(p.id)).refunded).toBe(0);
      expect((await get(p.id)).amountRefundedMinor).toBe(0);
    }
    // The refusal is the key's answer for good: repeated, and even once the dispute is won, the same key is refused
    // (a caller told "refused" is never surprised by the money moving later); a new request may refund.
    const same = () => api.http().post(`/api/payments/${disputed.id}/refunds`).set(bearer(key)).set('Idempotency-Key', sameKey).send({ amountMinor: 100 });
    const sameKey = randomUUID();
    expect((await same()).status).toBe(422);
    expect((await same()).status).toBe(422);
    const closed = { ...dispute.event, eventId: `evt_${randomUUID().replace(/-/g, '')}`, type: 'charge.dispute.closed' };
    expect(await closeDispute(db, { ...dispute, event: closed, outcome: 'won' })).toBe('dispute_closed');
    expect(await get(disputed.id)).toMatchObject({ status: 'succeeded', disputeStatus: 'won', amountDisputedMinor: 0 });
    expect((await same()).status).toBe(422);
    expect((await sandbox(disputed.id)).refunded).toBe(0);
    expect(await refundStatus(await refund(disputed.id, 100))).toBe('succeeded');
  });

  it('answers another tenant’s payment id as absent on every route, and leaves the payment as it was', async () => {
    const mine = await settled(await pay({ captureMethod: 'manual' }));
    expect(mine.status).toBe('authorized');
    const [finance, ops] = [bearer(other.finance), bearer(other.ops)];
    const answers = [
      await api.http().get(`/api/payments/${mine.id}`).set(finance),
      await api.http().post(`/api/payments/${mine.id}/capture`).set(finance),
      await api.http().post(`/api/payments/${mine.id}/cancel`).set(finance),
      await api.http().post(`/api/payments/${mine.id}/review`).set(ops).send({ decision: 'reject' }),
      await api.http().post(`/api/payments/${mine.id}/refunds`).set(finance).set('Idempotency-Key', randomUUID()).send({ amountMinor: 100 }),
    ];
    expect(answers.map((r) => r.status)).toEqual([404, 404, 404, 404, 404]);
    for (const res of answers) expect(JSON.stringify(res.body)).not.toContain('"status":"authorized"');
    expect(await get(mine.id)).toMatchObject({ status: 'authorized', amountCapturedMinor: 0, amountRefundedMinor: 0 });
    expect(await sandbox(mine.id)).toMatchObject({ captures: 0, intent: { status: 'requires_capture' } });
  });
});
