/**
 * InvoiceLifecycle on the time-skipping test server, with its real activities over the test database: the books
 * (ledger_post), the outbox and the invoice rows are checked after each step. Each test has its own tenant, so its
 * ledger balances are the test's own.
 */
import { randomUUID } from 'node:crypto';
import { applyCustomerCredit, creditInvoice, invoiceState, issueInvoice, recordInvoicePayment, updateDraft, voidInvoice, writeOffInvoice } from '../../../workflows/invoices/invoice-lifecycle.contract';
import { eventually } from '../../support/eventually';
import { expectRefused, updateRefusal } from '../../support/updates';
import { balance, DAY, invoiceEvents, invoiceRowOf, LINES, newTenant, startHarness, startInvoice, stopHarness, TOTAL, untilStatus, withWorker, type Harness } from './harness';

jest.setTimeout(240_000);
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
}, 180_000);
afterAll(() => stopHarness(h));

const pay = (amountMinor: number, method: 'bank_transfer' | 'cash' = 'bank_transfer') => ({ paymentId: `pay_${randomUUID()}`, amountMinor, method });
const eventTypes = async (tenantId: string, invoiceId: string) => (await invoiceEvents(h, tenantId, invoiceId)).map((e) => e.event_type);

describe('InvoiceLifecycle', () => {
  it('is issued, reminded, partially paid, overdue, reminded again and paid in full, with the books and events at each step', async () => {
    const tenantId = await newTenant(h, [-3, 2]);
    await withWorker(h, async (q) => {
      const { invoiceId, handle } = await startInvoice(h, tenantId, q, { lines: [LINES[0]!] });
      const edited = await handle.executeUpdate(updateDraft, { args: [{ lines: LINES, note: 'Thank you' }] });
      expect(edited).toMatchObject({ status: 'draft', subtotalMinor: 11000, taxMinor: 1970, totalMinor: TOTAL });

      const issued = await handle.executeUpdate(issueInvoice, { args: [{}] });
      expect(issued).toMatchObject({ status: 'issued', number: 'INV-000001', outstandingMinor: TOTAL });
      expect(issued.reminders.map((r) => r.offsetDays)).toEqual([-3, 2]);
      expect(await balance(h, tenantId, 'accounts_receivable')).toBe(TOTAL);
      expect(await balance(h, tenantId, 'sales_revenue')).toBe(11000);
      expect(await balance(h, tenantId, 'tax_payable')).toBe(1970);
      const [created] = await invoiceEvents(h, tenantId, invoiceId);
      expect(created).toMatchObject({ event_type: 'invoice.created', topic: 'payment.events', partition_key: invoiceId, event: { data: { number: 'INV-000001', totalMinor: TOTAL } } });
      expect((await invoiceRowOf(h, tenantId, invoiceId)).document_html).toContain('INV-000001');

      // Three days before the due date: the first reminder.
      await h.env.sleep(27 * DAY);
      await eventually('the first reminder', async () => (await eventTypes(tenantId, invoiceId)).includes('invoice.reminder_due'), 60_000);
      expect((await handle.query(invoiceState)).status).toBe('issued');

      await handle.executeUpdate(recordInvoicePayment, { args: [pay(5000)] });
      expect(await untilStatus(handle, 'partially_paid')).toMatchObject({ paidMinor: 5000, outstandingMinor: TOTAL - 5000 });
      expect(await balance(h, tenantId, 'cash')).toBe(5000);

      // The due date passes: overdue, then the second reminder two days after it.
      await h.env.sleep(4 * DAY);
      await untilStatus(handle, 'overdue');
      await h.env.sleep(1 * DAY);
      await eventually('the second reminder', async () => (await eventTypes(tenantId, invoiceId)).filter((t) => t === 'invoice.reminder_due').length === 2, 60_000);

      await handle.executeUpdate(recordInvoicePayment, { args: [pay(TOTAL - 5000, 'cash')] });
      expect(await untilStatus(handle, 'paid')).toMatchObject({ paidMinor: TOTAL, outstandingMinor: 0 });
      expect(await balance(h, tenantId, 'accounts_receivable')).toBe(0);
      expect(await balance(h, tenantId, 'cash')).toBe(TOTAL);
      expect(await eventTypes(tenantId, invoiceId)).toEqual([
        'invoice.created', 'invoice.reminder_due', 'invoice.payment_received', 'invoice.overdue', 'invoice.reminder_due', 'invoice.payment_received', 'invoice.paid',
      ]);
      const reminders = (await invoiceEvents(h, tenantId, invoiceId)).filter((e) => e.event_type === 'invoice.reminder_due').map((e) => e.event.data);
      expect(reminders).toMatchObject([{ reminderNumber: 1, offsetDays: -3, outstandingMinor: TOTAL }, { reminderNumber: 2, offsetDays: 2, outstandingMinor: TOTAL - 5000 }]);
      expect(await invoiceRowOf(h, tenantId, invoiceId)).toMatchObject({ status: 'paid', paid_minor: String(TOTAL), outstanding_minor: '0' });
    });
  });

  it('refuses a payment over what is outstanding, and the same payment twice, moving nothing', async () => {
    const tenantId = await newTenant(h);
    await withWorker(h, async (q) => {
      const { invoiceId, handle } = await startInvoice(h, tenantId, q);
      await handle.executeUpdate(issueInvoice, { args: [{}] });
      expectRefused(await updateRefusal(handle, recordInvoicePayment, [pay(TOTAL + 1)]), new RegExp(`more than the ${TOTAL} outstanding`));
      const first = pay(2000);
      await handle.executeUpdate(recordInvoicePayment, { args: [first] });
      expectRefused(await updateRefusal(handle, recordInvoicePayment, [first]), /already recorded/);
      expectRefused(await updateRefusal(handle, recordInvoicePayment, [pay(TOTAL - 2000 + 1)]), new RegExp(`more than the ${TOTAL - 2000} outstanding`));
      expect(await balance(h, tenantId, 'cash')).toBe(2000);
      expect(await invoiceRowOf(h, tenantId, invoiceId)).toMatchObject({ paid_minor: '2000', status: 'partially_paid' });
    });
  });

  it('voids an invoice nothing was paid on (reversing the issue entry), and refuses to void one with a payment', async () => {
    const tenantId = await newTenant(h);
    await withWorker(h, async (q) => {
      const unpaid = await startInvoice(h, tenantId, q);
      await unpaid.handle.executeUpdate(issueInvoice, { args: [{}] });
      await unpaid.handle.executeUpdate(voidInvoice, { args: [{ reason: 'issued by mistake' }] });
      expect(await unpaid.handle.result()).toEqual({ invoiceId: unpaid.invoiceId, status: 'void' });
      expect(await balance(h, tenantId, 'accounts_receivable')).toBe(0);
      expect(await balance(h, tenantId, 'sales_revenue')).toBe(0);

      const paid = await startInvoice(h, tenantId, q);
      await paid.handle.executeUpdate(issueInvoice, { args: [{}] });
      await paid.handle.executeUpdate(recordInvoicePayment, { args: [pay(100)] });
      expectRefused(await updateRefusal(paid.handle, voidInvoice, [{}]), /cannot be voided/);
      expect(await invoiceRowOf(h, tenantId, paid.invoiceId)).toMatchObject({ status: 'partially_paid', number: 2 });
      expect(await balance(h, tenantId, 'accounts_receivable')).toBe(TOTAL - 100);
    });
  });

  it('turns a credit note on a paid invoice into customer credit (revenue and tax reversed pro rata), applied to later invoices', async () => {
    const tenantId = await newTenant(h);
    await withWorker(h, async (q) => {
      const a = await startInvoice(h, tenantId, q);
      await a.handle.executeUpdate(issueInvoice, { args: [{}] });
      await a.handle.executeUpdate(recordInvoicePayment, { args: [pay(TOTAL)] });
      const credited = await a.handle.executeUpdate(creditInvoice, { args: [{ creditNoteId: 'cn-1', amountMinor: TOTAL / 2, reason: 'half the work redone' }] });
      expect(credited).toMatchObject({ status: 'paid', creditedMinor: 0, creditedToBalanceMinor: TOTAL / 2 });
      expect(await balance(h, tenantId, 'sales_revenue')).toBe(5500);
      expect(await balance(h, tenantId, 'tax_payable')).toBe(985);
      expect(await balance(h, tenantId, 'customer_credit')).toBe(TOTAL / 2);

      const b = await startInvoice(h, tenantId, q, { lines: [{ description: 'Support', quantity: 1, unitPriceMinor: 5000, taxRateBp: 0 }] });
      await b.handle.executeUpdate(issueInvoice, { args: [{}] });
      expect(await b.handle.executeUpdate(applyCustomerCredit, { args: [{ applicationId: 'apply-1' }] })).toMatchObject({ status: 'paid', paidMinor: 5000 });
      const c = await startInvoice(h, tenantId, q);
      await c.handle.executeUpdate(issueInvoice, { args: [{}] });
      // What is left of the credit (6485 - 5000) goes to the next invoice; the balance never goes below zero.
      expect(await c.handle.executeUpdate(applyCustomerCredit, { args: [{ applicationId: 'apply-2' }] })).toMatchObject({ status: 'partially_paid', paidMinor: TOTAL / 2 - 5000 });
      expect(await c.handle.executeUpdate(applyCustomerCredit, { args: [{ applicationId: 'apply-3' }] })).toMatchObject({ paidMinor: TOTAL / 2 - 5000 });
      expect(await balance(h, tenantId, 'customer_credit')).toBe(0);
      expect(await balance(h, tenantId, 'accounts_receivable')).toBe(TOTAL - (TOTAL / 2 - 5000));
      expect(await eventTypes(tenantId, b.invoiceId)).toEqual(['invoice.created', 'invoice.payment_received', 'invoice.paid']);
      expect(await eventTypes(tenantId, a.invoiceId)).toContain('invoice.credited');
    });
  });

  it('writes an overdue balance off to bad-debt expense, and refuses a write-off before the invoice is overdue', async () => {
    const tenantId = await newTenant(h, []);
    await withWorker(h, async (q) => {
      const { invoiceId, handle } = await startInvoice(h, tenantId, q, { terms: 'net_14' });
      await handle.executeUpdate(issueInvoice, { args: [{}] });
      await handle.executeUpdate(recordInvoicePayment, { args: [pay(970)] });
      expectRefused(await updateRefusal(handle, writeOffInvoice, [{}]), /cannot be written off/);
      await h.env.sleep(16 * DAY);
      await untilStatus(handle, 'overdue');
      await handle.executeUpdate(writeOffInvoice, { args: [{ reason: 'customer insolvent' }] });
      expect(await handle.result()).toEqual({ invoiceId, status: 'written_off' });
      expect(await balance(h, tenantId, 'bad_debt_expense')).toBe(TOTAL - 970);
      expect(await balance(h, tenantId, 'accounts_receivable')).toBe(0);
      expect(await invoiceRowOf(h, tenantId, invoiceId)).toMatchObject({ status: 'written_off', written_off_minor: String(TOTAL - 970), outstanding_minor: '0' });
      expect((await eventTypes(tenantId, invoiceId)).slice(-1)).toEqual(['invoice.written_off']);
    });
  });

  it('continues as new on a long history, keeping its state and its pending reminders', async () => {
    const tenantId = await newTenant(h, [-3, 2]);
    await withWorker(h, async (q) => {
      const { invoiceId, handle } = await startInvoice(h, tenantId, q, {}, { historyEventLimit: 60 });
      const firstRunId = (await handle.describe()).runId;
      await handle.executeUpdate(issueInvoice, { args: [{}] });
      await h.env.sleep(27 * DAY);
      await eventually('the first reminder', async () => (await eventTypes(tenantId, invoiceId)).includes('invoice.reminder_due'), 60_000);
      for (let i = 0; i < 10; i++) await handle.executeUpdate(recordInvoicePayment, { args: [pay(100)] });
      const latest = h.env.client.workflow.getHandle(handle.workflowId);
      await eventually('a new run', async () => (await latest.describe()).runId !== firstRunId, 60_000);
      const carried = await latest.query(invoiceState);
      expect(carried).toMatchObject({ status: 'partially_paid', number: 'INV-000001', paidMinor: 1000, outstandingMinor: TOTAL - 1000 });
      expect(carried.generation).toBeGreaterThanOrEqual(1);
      expect(carried.payments).toHaveLength(10);
      expect(carried.reminders.map((r) => r.sent)).toEqual([true, false]);

      // The new run keeps the timers: overdue after the due date, the pending reminder two days after it, and the
      // reminder already sent is not sent again.
      await h.env.sleep(6 * DAY);
      await untilStatus(latest, 'overdue');
      await eventually('the second reminder', async () => (await eventTypes(tenantId, invoiceId)).filter((t) => t === 'invoice.reminder_due').length === 2, 60_000);
      const reminders = (await invoiceEvents(h, tenantId, invoiceId)).filter((e) => e.event_type === 'invoice.reminder_due').map((e) => e.event.data.reminderNumber);
      expect(reminders).toEqual([1, 2]);
      // A payment already recorded before continue-as-new is still refused after it.
      const again = carried.payments[0]!;
      expectRefused(await updateRefusal(latest, recordInvoicePayment, [{ paymentId: again.paymentId, amountMinor: 100, method: 'bank_transfer' }]), /already recorded/);
    });
  });
});
