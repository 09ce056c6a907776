/**
 * A credit note settled by refund, over HTTP on the real stack (dev Temporal server with payments and invoices
 * workers, PostgreSQL, the stripe-mock sandbox): an invoice paid by card through the payment saga (POST
 * /api/payments with invoiceRef) is credited with `settlement: 'refund'`; the card payment shows the refund once (a
 * repeat of the key refunds nothing more), the books net out (refunds and customer credit at zero, revenue and tax
 * reversed pro rata), and a refund beyond what was paid by card is a 422 that changes nothing.
 */
import { randomUUID } from 'node:crypto';
import { createPool, withTenant, type Pool } from '../../../platform/db/pool';
import { createTemporalClient } from '../../../platform/temporal/client';
import { accountBalance } from '../../../platform/ledger';
import { eventually } from '../../support/eventually';
import { startPipeline, type Pipeline } from '../../support/pipeline';
import { apiKeyWithRole, bearer, registerTenant, settledResource, startApi, userWithRole, type RegisteredTenant, type TestApi } from '../../support/api';
import { testConfig } from '../../support/env';

jest.setTimeout(180_000);
const cfg = testConfig();
const temporal = createTemporalClient(cfg);
let api: TestApi;
let db: Pool;
let pipeline: Pipeline;
let tenant: RegisteredTenant;
let finance: string;
let clientKey: string;

beforeAll(async () => {
  api = startApi({ PAYMENT_SYNC_WAIT_MS: '30000' });
  db = createPool(cfg.DATABASE_URL, 4);
  pipeline = await startPipeline(cfg, ['payments', 'invoices'], 'payment.events', { temporal });
  tenant = await registerTenant(api);
  finance = await userWithRole(api, tenant, 'finance');
  clientKey = (await apiKeyWithRole(api, tenant, 'client')).key;
}, 120_000);

afterAll(async () => {
  await pipeline?.close();
  await temporal.connection.close();
  await db?.end();
  await api?.close();
});

// 2 x 10000 at 19 %: net 20000, tax 3800, total 23800.
const TOTAL = 23800;
const balance = (account: string) => withTenant(db, tenant.tenantId, async (tx) => 0 + (await accountBalance(tx, account, 'EUR')));

/** An issued invoice paid by card through the payment saga (`cardMinor`), the rest by bank transfer. */
async function paidByCard(customerId: string, cardMinor = TOTAL) {
  const created = await api
    .http()
    .post('/api/invoices')
    .set(bearer(finance))
    .set('Idempotency-Key', randomUUID())
    .send({ customerId, currency: 'EUR', terms: 'net_30', lines: [{ description: 'Seats', quantity: 2, unitPriceMinor: 10000, taxRateBp: 1900 }] })
    .expect(201);
  const id: string = created.body.id;
  await api.http().post(`/api/invoices/${id}/issue`).set(bearer(finance)).expect(200);
  const res = await api
    .http()
    .post('/api/payments')
    .set(bearer(clientKey))
    .set('Idempotency-Key', randomUUID())
    .send({ amountMinor: cardMinor, currency: 'EUR', customerId, paymentMethod: 'pm_card_visa', invoiceRef: id });
  const payment = await settledResource(api, clientKey, res, (b) => ['succeeded', 'failed', 'canceled', 'in_review'].includes(b.status), 90_000);
  expect(payment).toMatchObject({ status: 'succeeded', invoiceRef: id });
  if (cardMinor < TOTAL) {
    await eventually('the card payment on its invoice', async () => (await api.http().get(`/api/invoices/${id}`).set(bearer(finance))).body.paidMinor === cardMinor, 90_000);
    await api.http().post(`/api/invoices/${id}/payments`).set(bearer(finance)).set('Idempotency-Key', randomUUID()).send({ amountMinor: TOTAL - cardMinor, method: 'bank_transfer' }).expect(200);
  }
  await eventually('the card payment on its invoice', async () => (await api.http().get(`/api/invoices/${id}`).set(bearer(finance))).body.status === 'paid', 90_000);
  return { id, paymentId: payment.id as string };
}

const creditNote = (invoiceId: string, key: string, body: Record<string, unknown>) =>
  api.http().post(`/api/invoices/${invoiceId}/credit-notes`).set(bearer(finance)).set('Idempotency-Key', key).send(body);
const refundedOf = async (paymentId: string) => (await api.http().get(`/api/payments/${paymentId}`).set(bearer(clientKey)).expect(200)).body.amountRefundedMinor;

describe('POST /api/invoices/:id/credit-notes with settlement refund', () => {
  it('refunds the card payment once, through the refund workflow, and the books net out', async () => {
    const { id, paymentId } = await paidByCard('cus_refund');
    const key = randomUUID();
    const credited = await creditNote(id, key, { amountMinor: 11900, settlement: 'refund', reason: 'one seat returned' });
    expect(`${credited.status} ${credited.body.detail ?? ''}`).toBe('200 ');
    expect(credited.body).toMatchObject({ status: 'paid', creditedToBalanceMinor: 11900, outstandingMinor: 0 });
    expect(await refundedOf(paymentId)).toBe(11900);

    // The same key again: the same credit note, no second refund.
    await creditNote(id, key, { amountMinor: 11900, settlement: 'refund', reason: 'one seat returned' }).expect(200);
    expect(await refundedOf(paymentId)).toBe(11900);
    const refunds = await withTenant(db, tenant.tenantId, async (tx) => (await tx.query('SELECT amount_minor, status FROM payment_refunds WHERE payment_id = $1', [paymentId])).rows);
    expect(refunds).toEqual([{ amount_minor: '11900', status: 'succeeded' }]);

    // Revenue and tax reversed half (credit balances); the refund's contra-revenue nets to zero; nothing owed either way.
    expect(await balance('sales_revenue')).toBe(10000);
    expect(await balance('tax_payable')).toBe(1900);
    expect(await balance('refunds')).toBe(0);
    expect(await balance('customer_credit')).toBe(0);
    expect(await balance('accounts_receivable')).toBe(0);
    expect(await balance('provider_clearing')).toBe(TOTAL - 11900);
  });

  it('refuses a refund beyond what was paid by card (422) and changes nothing', async () => {
    const { id, paymentId } = await paidByCard('cus_refund_over', 10000);
    const before = (await api.http().get(`/api/invoices/${id}`).set(bearer(finance)).expect(200)).body;
    expect(before).toMatchObject({ status: 'paid', paidMinor: TOTAL });

    // 12000 is within what is left to credit, but only 10000 came by card (the rest by bank transfer).
    const over = await creditNote(id, randomUUID(), { amountMinor: 12000, settlement: 'refund' }).expect(422);
    expect(over.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(over.body.detail).toMatch(/would refund 12000, more than the 10000 paid by card/);
    const after = (await api.http().get(`/api/invoices/${id}`).set(bearer(finance)).expect(200)).body;
    expect(after).toMatchObject({ status: 'paid', creditedMinor: 0, creditedToBalanceMinor: 0 });
    expect(await refundedOf(paymentId)).toBe(0);
  });

  it('refuses a refund the card payment no longer allows (refunded apart from the invoice): 422 naming the refund, no credit note', async () => {
    const { id, paymentId } = await paidByCard('cus_refund_apart');
    // Refunded through the payments API, which the invoice does not see: 800 left on the card.
    await api.http().post(`/api/payments/${paymentId}/refunds`).set(bearer(finance)).set('Idempotency-Key', randomUUID()).send({ amountMinor: TOTAL - 800 }).expect(201);
    const refused = await creditNote(id, randomUUID(), { amountMinor: 5000, settlement: 'refund' }).expect(422);
    expect(refused.body.detail).toMatch(/refund was refused.*no credit note was issued/);
    const after = (await api.http().get(`/api/invoices/${id}`).set(bearer(finance)).expect(200)).body;
    expect(after).toMatchObject({ status: 'paid', creditedMinor: 0, creditedToBalanceMinor: 0 });
    expect(await refundedOf(paymentId)).toBe(TOTAL - 800);
  });

  it('takes only customer_credit or refund as settlement (400)', async () => {
    const created = await api
      .http()
      .post('/api/invoices')
      .set(bearer(finance))
      .set('Idempotency-Key', randomUUID())
      .send({ customerId: 'cus_x', currency: 'EUR', lines: [{ description: 'x', quantity: 1, unitPriceMinor: 100, taxRateBp: 0 }] })
      .expect(201);
    const res = await creditNote(created.body.id, randomUUID(), { amountMinor: 10, settlement: 'cash' }).expect(400);
    expect(JSON.stringify(res.body)).toMatch(/settlement/);
  });
});
