/**
 * The invoice API over HTTP on the real stack (dev Temporal server with an invoices worker, PostgreSQL): a draft
 * made once per Idempotency-Key, edited and issued; payments never over what is owed, each key paying once;
 * void, credit notes and their refusals; the list's filters and cursor; the ageing report as JSON and as a page;
 * tenant and role scoping.
 */
import { randomUUID } from 'node:crypto';
import type { Consumer } from 'kafkajs';
import { createPool, withTenant, type Pool } from '../../../platform/db/pool';
import { accountBalance } from '../../../platform/ledger';
import { addDays, dateOf } from '../../../core/invoices';
import { createKafka } from '../../../platform/events/kafka';
import { eventually } from '../../support/eventually';
import { startPipeline, type Pipeline } from '../../support/pipeline';
import { bearer, registerTenant, startApi, userWithRole, type RegisteredTenant, type TestApi } from '../../support/api';
import { testConfig } from '../../support/env';

const cfg = testConfig();
let api: TestApi;
let db: Pool;
let pipeline: Pipeline;
let keyed: Consumer;
/** What reached Kafka's payment.events: each message's key, type and subject. */
const published: { key: string; type: string; subject: string }[] = [];
let tenant: RegisteredTenant;
let finance: string;
let ops: string;
let client: string;

beforeAll(async () => {
  api = startApi();
  db = createPool(cfg.DATABASE_URL, 4);
  // An invoices worker, the outbox relay and a consumer of payment.events.
  pipeline = await startPipeline(cfg, ['invoices'], 'payment.events');
  keyed = createKafka(cfg).consumer({ groupId: `${cfg.KAFKA_TOPIC_PREFIX}invoices-keys-${randomUUID()}` });
  await keyed.connect();
  await keyed.subscribe({ topic: `${cfg.KAFKA_TOPIC_PREFIX}payment.events`, fromBeginning: true });
  await keyed.run({
    eachMessage: async ({ message }) => {
      const e = JSON.parse(message.value!.toString()) as { type: string; subject: string };
      published.push({ key: message.key!.toString(), type: e.type, subject: e.subject });
    },
  });
  tenant = await registerTenant(api);
  [finance, ops, client] = await Promise.all([userWithRole(api, tenant, 'finance'), userWithRole(api, tenant, 'ops'), userWithRole(api, tenant, 'client')]);
}, 120_000);

afterAll(async () => {
  await keyed?.disconnect();
  await pipeline?.close();
  await db?.end();
  await api?.close();
});

const body = (customerId: string, overrides: Record<string, unknown> = {}) => ({
  customerId,
  currency: 'EUR',
  terms: 'net_30',
  lines: [
    { description: 'Consulting', quantity: 3, unitPriceMinor: 10000, taxRateBp: 1900 },
    { description: 'Licence', quantity: 1, unitPriceMinor: 333, taxRateBp: 1900 },
  ],
  ...overrides,
});
// 30000 + 333 = 30333 net; tax 5763.27 -> 5763; total 36096.
const TOTAL = 36096;

const post = (path: string, token: string, key?: string) => {
  const r = api.http().post(path).set(bearer(token));
  return key ? r.set('Idempotency-Key', key) : r;
};
const receivable = () => withTenant(db, tenant.tenantId, async (tx) => 0 + (await accountBalance(tx, 'accounts_receivable', 'EUR')));
const cash = () => withTenant(db, tenant.tenantId, async (tx) => 0 + (await accountBalance(tx, 'cash', 'EUR')));

async function issuedInvoice(customerId: string, overrides: Record<string, unknown> = {}) {
  const created = await post('/api/invoices', finance, randomUUID()).send(body(customerId, overrides)).expect(201);
  return (await post(`/api/invoices/${created.body.id}/issue`, finance).expect(200)).body;
}

describe('invoice API', () => {
  it('creates a draft once per Idempotency-Key, edits it, issues it with a gapless number and its document', async () => {
    const key = randomUUID();
    const created = await post('/api/invoices', finance, key).send(body('cus_a', { lines: [{ description: 'Draft line', quantity: 1, unitPriceMinor: 100, taxRateBp: 0 }] })).expect(201);
    expect(created.body).toMatchObject({ status: 'draft', number: null, totalMinor: 100, customerId: 'cus_a' });
    const again = await post('/api/invoices', finance, key).send(body('cus_a', { lines: [{ description: 'Draft line', quantity: 1, unitPriceMinor: 100, taxRateBp: 0 }] })).expect(200);
    expect(again.body.id).toBe(created.body.id);
    await post('/api/invoices', finance, key).send(body('cus_other')).expect(422);

    const edited = await api.http().patch(`/api/invoices/${created.body.id}`).set(bearer(finance)).send({ lines: body('cus_a').lines, note: 'Bank transfer please' }).expect(200);
    expect(edited.body).toMatchObject({ subtotalMinor: 30333, taxMinor: 5763, totalMinor: TOTAL, note: 'Bank transfer please' });

    const before = await receivable();
    const issued = await post(`/api/invoices/${created.body.id}/issue`, finance).expect(200);
    expect(issued.body).toMatchObject({ status: 'issued', number: expect.stringMatching(/^INV-\d{6}$/), issueDate: dateOf(Date.now()), dueDate: addDays(dateOf(Date.now()), 30), outstandingMinor: TOTAL });
    expect(await receivable()).toBe(before + TOTAL);
    await api.http().patch(`/api/invoices/${created.body.id}`).set(bearer(finance)).send({ note: 'too late' }).expect(409);
    await post(`/api/invoices/${created.body.id}/issue`, finance).expect(409);

    const doc = await api.http().get(`/api/invoices/${created.body.id}/document`).set(bearer(ops)).expect(200);
    expect(doc.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(doc.text).toContain(issued.body.number);
    expect(doc.text).toContain('data-figure="total">360.96<');
  });

  it('records payments never over what is owed, each Idempotency-Key once, and marks the invoice paid', async () => {
    const inv = await issuedInvoice('cus_pay');
    const cashBefore = await cash();
    const over = await post(`/api/invoices/${inv.id}/payments`, finance, randomUUID()).send({ amountMinor: TOTAL + 1, method: 'bank_transfer' }).expect(422);
    expect(over.body.detail).toMatch(/more than the 36096 outstanding/);
    expect(await cash()).toBe(cashBefore);

    const key = randomUUID();
    const part = await post(`/api/invoices/${inv.id}/payments`, finance, key).send({ amountMinor: 10000, method: 'bank_transfer', reference: 'BANK-1' }).expect(200);
    expect(part.body).toMatchObject({ status: 'partially_paid', paidMinor: 10000, outstandingMinor: TOTAL - 10000 });
    const repeated = await post(`/api/invoices/${inv.id}/payments`, finance, key).send({ amountMinor: 10000, method: 'bank_transfer', reference: 'BANK-1' }).expect(200);
    expect(repeated.body.paidMinor).toBe(10000);
    expect(await cash()).toBe(cashBefore + 10000);

    await post(`/api/invoices/${inv.id}/void`, finance).send({}).expect(409);
    const paid = await post(`/api/invoices/${inv.id}/payments`, finance, randomUUID()).send({ amountMinor: TOTAL - 10000, method: 'cash' }).expect(200);
    expect(paid.body).toMatchObject({ status: 'paid', outstandingMinor: 0 });
    await post(`/api/invoices/${inv.id}/payments`, finance, randomUUID()).send({ amountMinor: 1, method: 'cash' }).expect(409);

    // Through the outbox to payment.events, keyed by the invoice, as the seed has them.
    const ofInvoice = () => published.filter((m) => m.subject === `invoice/${inv.id}`);
    await eventually('the invoice events on payment.events', () => ofInvoice().some((m) => m.type === 'invoice.paid'), 60_000);
    expect(new Set(ofInvoice().map((m) => m.type))).toEqual(new Set(['invoice.created', 'invoice.payment_received', 'invoice.paid']));
    expect(new Set(ofInvoice().map((m) => m.key))).toEqual(new Set([inv.id]));
  });

  it('voids an unpaid invoice, credits a paid one to the customer’s balance and applies it to the next invoice, and refuses a write-off before it is overdue', async () => {
    const unpaid = await issuedInvoice('cus_void');
    expect((await post(`/api/invoices/${unpaid.id}/void`, finance).send({ reason: 'wrong customer' }).expect(200)).body.status).toBe('void');

    const paid = await issuedInvoice('cus_credit');
    await post(`/api/invoices/${paid.id}/payments`, finance, randomUUID()).send({ amountMinor: TOTAL, method: 'bank_transfer' }).expect(200);
    const credited = await post(`/api/invoices/${paid.id}/credit-notes`, finance, randomUUID()).send({ amountMinor: 6000, reason: 'discount agreed' }).expect(200);
    expect(credited.body).toMatchObject({ status: 'paid', creditedToBalanceMinor: 6000 });
    await post(`/api/invoices/${paid.id}/credit-notes`, finance, randomUUID()).send({ amountMinor: TOTAL }).expect(422);

    const next = await issuedInvoice('cus_credit');
    expect((await post(`/api/invoices/${next.id}/apply-credit`, finance, randomUUID()).expect(200)).body).toMatchObject({ status: 'partially_paid', paidMinor: 6000 });
    await post(`/api/invoices/${next.id}/write-off`, finance).send({}).expect(409);
  });

  it('lists with filters and a cursor, and ages the receivables per customer and currency as JSON and as a page', async () => {
    const customer = `cus_${randomUUID().slice(0, 8)}`;
    const a = await issuedInvoice(customer);
    const b = await issuedInvoice(customer, { terms: 'net_60' });
    await post('/api/invoices', finance, randomUUID()).send(body(customer)).expect(201); // a draft

    const issued = await api.http().get('/api/invoices').query({ customerId: customer, status: 'issued', limit: 1 }).set(bearer(ops)).expect(200);
    expect(issued.body.data.map((i: { id: string }) => i.id)).toEqual([b.id]);
    const next = await api.http().get('/api/invoices').query({ customerId: customer, status: 'issued', limit: 1, cursor: issued.body.nextCursor }).set(bearer(ops)).expect(200);
    expect(next.body).toMatchObject({ data: [{ id: a.id }], nextCursor: null });
    const dueSoon = await api.http().get('/api/invoices').query({ customerId: customer, dueBefore: addDays(dateOf(Date.now()), 45) }).set(bearer(ops)).expect(200);
    expect(dueSoon.body.data.map((i: { id: string }) => i.id)).toEqual([a.id]);
    const dueLate = await api.http().get('/api/invoices').query({ customerId: customer, dueAfter: addDays(dateOf(Date.now()), 45) }).set(bearer(ops)).expect(200);
    expect(dueLate.body.data.map((i: { id: string }) => i.id)).toEqual([b.id]);
    await api.http().get('/api/invoices').query({ cursor: 'not-ours' }).set(bearer(ops)).expect(400);

    // 40 days on, the net_30 invoice is 10 days late and the net_60 one not yet due.
    const asOf = addDays(dateOf(Date.now()), 40);
    const ageing = await api.http().get('/api/invoices/ageing').query({ asOf }).set(bearer(finance)).expect(200);
    const eur = ageing.body.currencies.find((c: { currency: string }) => c.currency === 'EUR');
    expect(eur.customers.find((c: { customerId: string }) => c.customerId === customer)).toEqual({ customerId: customer, current: TOTAL, '1-30': TOTAL, '31-60': 0, '61-90': 0, '90+': 0, totalMinor: 2 * TOTAL });
    const page = await api.http().get('/api/invoices/ageing').query({ asOf, format: 'html' }).set(bearer(finance)).expect(200);
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    expect(page.text).toContain(`data-customer="${customer}"`);
  });

  it('is scoped by role and tenant', async () => {
    const inv = await issuedInvoice('cus_scope');
    await api.http().get(`/api/invoices/${inv.id}`).set(bearer(ops)).expect(200);
    await post(`/api/invoices/${inv.id}/payments`, ops, randomUUID()).send({ amountMinor: 1, method: 'cash' }).expect(403);
    await api.http().get(`/api/invoices/${inv.id}`).set(bearer(client)).expect(403);
    await post('/api/invoices', client, randomUUID()).send(body('cus_x')).expect(403);

    const other = await registerTenant(api);
    const otherFinance = await userWithRole(api, other, 'finance');
    await api.http().get(`/api/invoices/${inv.id}`).set(bearer(otherFinance)).expect(404);
    await post(`/api/invoices/${inv.id}/payments`, otherFinance, randomUUID()).send({ amountMinor: 1, method: 'cash' }).expect(404);
    await post(`/api/invoices/${inv.id}/void`, otherFinance).send({}).expect(404);
    expect((await api.http().get('/api/invoices').set(bearer(otherFinance)).expect(200)).body.data).toEqual([]);
    await post('/api/invoices', finance, randomUUID()).send({ ...body('cus_bad'), lines: [{ description: 'x', quantity: 1.5, unitPriceMinor: 1, taxRateBp: 0 }] }).expect(400);
  });
});
