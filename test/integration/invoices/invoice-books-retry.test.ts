/**
 * Every money step of an invoice, run twice as a retried activity would (the same keys and dates): the books, the
 * rows and the events move once.
 */
import { randomUUID } from 'node:crypto';
import { splitCredit } from '../../../core/invoices';
import { applyCustomerCredit, createDraft, creditInvoice, issueInvoice, recordPayment, voidInvoice, writeOffInvoice } from '../../../modules/invoices';
import { createPool, withTenant, type Pool } from '../../../platform/db/pool';
import { accountBalance } from '../../../platform/ledger';
import { createTenant, testConfig } from '../../support/env';

const cfg = testConfig();
const AT = '2026-03-02T10:00:00Z';
let db: Pool;
let tenantId: string;

beforeAll(async () => {
  db = createPool(cfg.DATABASE_URL, 4);
  tenantId = await createTenant(db);
  await withTenant(db, tenantId, (tx) => tx.query('SELECT create_default_chart($1)', [tenantId]));
});
afterAll(() => db?.end());

const inTenant = <T>(fn: Parameters<typeof withTenant<T>>[2]) => withTenant(db, tenantId, fn);
const twice = async (step: () => Promise<unknown>) => {
  await step();
  await step();
};
const balance = (account: string) => inTenant(async (tx) => 0 + (await accountBalance(tx, account, 'EUR')));
const events = (invoiceId: string) => inTenant(async (tx) => (await tx.query<{ event_type: string }>('SELECT event_type FROM outbox WHERE aggregate_id = $1 ORDER BY id', [invoiceId])).rows.map((r) => r.event_type));

async function issued(customerId = 'cus_r'): Promise<string> {
  const id = randomUUID();
  await inTenant(async (tx) => {
    await createDraft(tx, { id, tenantId, idempotencyKey: id, series: 'INV', createdBy: 'test', customerId, currency: 'EUR', lines: [{ description: 'Work', quantity: 1, unitPriceMinor: 1000, taxRateBp: 1900 }] });
    await issueInvoice(tx, { invoiceId: id, issueDate: '2026-03-02', dueDate: '2026-04-01', effectiveAt: AT });
  });
  return id;
}

describe('invoice money steps retried', () => {
  it('record a payment, a credit note, a credit application, a void and a write-off once each', async () => {
    const paid = await issued();
    const pay = (tx: Parameters<typeof recordPayment>[0]) => recordPayment(tx, { invoiceId: paid, paymentId: 'p-1', amountMinor: 1190, method: 'bank_transfer', receivedOn: '2026-03-03', effectiveAt: AT, status: 'paid' });
    await twice(() => inTenant(pay));
    expect(await balance('cash')).toBe(1190);
    const split = splitCredit({ amountMinor: 595, subtotalMinor: 1000, taxMinor: 190, outstandingMinor: 0, currency: 'EUR' });
    await twice(() => inTenant((tx) => creditInvoice(tx, { invoiceId: paid, creditNoteId: 'cn-1', amountMinor: 595, split, effectiveAt: AT, status: 'paid' })));
    expect(await balance('customer_credit')).toBe(595);
    expect(await balance('sales_revenue')).toBe(500);

    const next = await issued();
    const apply = () =>
      inTenant((tx) => applyCustomerCredit(tx, { invoiceId: next, applicationId: 'a-1', maxMinor: 1190, receivedOn: '2026-03-04', effectiveAt: AT, statusWhenPaid: 'paid', statusOtherwise: 'partially_paid' }));
    expect(await apply()).toBe(595);
    expect(await apply()).toBe(595);
    expect(await balance('customer_credit')).toBe(0);

    const voided = await issued();
    await twice(() => inTenant((tx) => voidInvoice(tx, { invoiceId: voided, effectiveAt: AT })));
    const written = await issued();
    await twice(() => inTenant((tx) => writeOffInvoice(tx, { invoiceId: written, amountMinor: 1190, effectiveAt: AT })));
    expect(await balance('bad_debt_expense')).toBe(1190);

    // Receivable: paid (0) + next (1190 - 595) + voided (0) + written off (0).
    expect(await balance('accounts_receivable')).toBe(595);
    expect(await events(paid)).toEqual(['invoice.created', 'invoice.payment_received', 'invoice.paid', 'invoice.credited']);
    expect(await events(voided)).toEqual(['invoice.created', 'invoice.voided']);
    expect(await events(written)).toEqual(['invoice.created', 'invoice.written_off']);
  });
});
