/**
 * A credit note on an invoice paid by card, settled by refund: InvoiceLifecycle's activity starts RefundWorkflow
 * (id from the invoice, the credit note and the payment) on the payments queue, waits for it, then books the credit
 * note. Both queues run on the time-skipping test server with their real activities; the provider is the stripe-mock
 * sandbox.
 *
 * The books, for an invoice of 12970 (net 11000, tax 1970) paid in full by card, credited 6485 with refund:
 *   issue        receivable 12970 / revenue 11000 + tax payable 1970
 *   card (saga)  provider clearing 12970 / receivable 12970
 *   credit note  revenue 5500 + tax payable 985 / refunds 6485     (pro rata: 6485 x 11000/12970, the rest tax)
 *   refund       refunds 6485 / provider clearing 6485             (RefundWorkflow's own entry)
 * so receivable 0, customer credit 0, refunds 0 (revenue reversed once), clearing 6485, revenue 5500 and tax payable 985
 * (credit balances, as accountBalance shows them: by the account's normal side).
 */
import { randomUUID } from 'node:crypto';
import { Client, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createInvoiceActivities } from '../../../activities/invoices';
import { createInvoiceDeliveryActivities, createPaymentActivities, createRefundActivities, StripeMockSandboxProvider, stripeClient } from '../../../activities/payments';
import { withTenant } from '../../../platform/db/pool';
import { createDataConverter } from '../../../platform/temporal/client';
import { PaymentSaga, RefundWorkflow } from '../../../workflows/payments';
import { paymentWorkflowId } from '../../../workflows/payments/payment.contract';
import { refundWorkflowId } from '../../../workflows/payments/refund.contract';
import { creditInvoice, INVOICE_FAILURES, invoiceState, invoiceWorkflowId, issueInvoice, recordInvoicePayment } from '../../../workflows/invoices/invoice-lifecycle.contract';
import { creditNoteRefundId } from '../../../activities/invoices/invoice.activities';
import { insertPaymentRow, paymentInput } from '../../support/payment-rows';
import { bundle } from '../../support/temporal';
import { balance, cfg, invoiceEvents, invoiceRowOf, newTenant, startHarness, startInvoice, stopHarness, TOTAL, withWorker, type Harness } from './harness';

jest.setTimeout(240_000);
let h: Harness;
let paymentsBundle: WorkflowBundleWithSourceMap;
let realTime: Client;
beforeAll(async () => {
  [h, paymentsBundle] = await Promise.all([startHarness(), bundle(require.resolve('../../../workflows/payments'))]);
  // Waited on without time skipping: the saga and the refund work while the invoice's timers lie a month ahead.
  realTime = new Client({ connection: h.env.connection, namespace: h.env.namespace, dataConverter: createDataConverter(cfg) });
}, 180_000);
afterAll(() => stopHarness(h));

async function withPaymentsWorker<T>(taskQueue: string, fn: () => Promise<T>): Promise<T> {
  const provider = new StripeMockSandboxProvider(stripeClient({ mockUrl: cfg.STRIPE_MOCK_URL }), h.db);
  const activities = {
    ...createPaymentActivities({ db: h.db, provider, risk: { maxAmountMinor: 1_000_000, reviewAmountMinor: 1_000_000, velocityPerHour: 1000, deniedCustomers: new Set() } }),
    ...createRefundActivities({ db: h.db, provider }),
    ...createInvoiceDeliveryActivities({ temporal: realTime }),
  };
  const worker = await Worker.create({ connection: h.env.nativeConnection, taskQueue, workflowBundle: paymentsBundle, activities, dataConverter: createDataConverter(cfg) });
  return worker.runUntil(fn());
}

/** Invoice activities whose refund can reach RefundWorkflow; `loseFirstAnswer`: the first attempt's answer is lost. */
function invoiceActivities(paymentsQueue: string, attempts: string[], loseFirstAnswer = false) {
  const real = createInvoiceActivities({ db: h.db, temporal: realTime, refundTaskQueue: paymentsQueue });
  return {
    ...real,
    async refundCreditNote(input: Parameters<typeof real.refundCreditNote>[0]) {
      const outcome = await real.refundCreditNote(input);
      attempts.push(outcome.status);
      if (loseFirstAnswer && attempts.length === 1) throw new Error('the answer was lost on the way back');
      return outcome;
    },
  };
}

/** Both queues with their workers, an issued invoice, and a helper to pay it by card through the saga. */
async function scenario(fn: (x: { tenantId: string; invoiceId: string; handle: WorkflowHandle; paymentsQueue: string; payByCard: (amountMinor: number) => Promise<string> }) => Promise<void>, attempts: string[] = [], loseFirstAnswer = false) {
  const tenantId = await newTenant(h, []);
  const paymentsQueue = `${cfg.TEMPORAL_TASK_QUEUE_PREFIX}payments-${randomUUID()}`;
  await withPaymentsWorker(paymentsQueue, () =>
    withWorker(
      h,
      async (invoicesQueue) => {
        const { invoiceId } = await startInvoice(h, tenantId, invoicesQueue);
        const handle = realTime.workflow.getHandle(invoiceWorkflowId(tenantId, invoiceId));
        await handle.executeUpdate(issueInvoice, { args: [{}] });
        const payByCard = async (amountMinor: number) => {
          const input = paymentInput(tenantId, { amountMinor, invoiceRef: invoiceId });
          await insertPaymentRow(h.db, input);
          const saga = await realTime.workflow.start(PaymentSaga, { workflowId: paymentWorkflowId(tenantId, input.paymentId), taskQueue: paymentsQueue, args: [input] });
          expect(await saga.result()).toMatchObject({ status: 'succeeded' });
          return input.paymentId;
        };
        await fn({ tenantId, invoiceId, handle, paymentsQueue, payByCard });
      },
      invoiceActivities(paymentsQueue, attempts, loseFirstAnswer),
    ),
  );
}

const refundsOf = (tenantId: string, paymentId: string) =>
  withTenant(h.db, tenantId, async (tx) => ({
    rows: (await tx.query<{ id: string; amount_minor: string; status: string }>('SELECT id, amount_minor, status FROM payment_refunds WHERE payment_id = $1', [paymentId])).rows,
    refunded: Number((await tx.query<{ amount_refunded_minor: string }>('SELECT amount_refunded_minor FROM payments WHERE id = $1', [paymentId])).rows[0]!.amount_refunded_minor),
  }));
const providerRefunds = async (paymentId: string) =>
  (await h.db.query<{ amount_minor: string }>('SELECT amount_minor FROM provider_sandbox.refunds WHERE payment_id = $1', [paymentId])).rows.map((r) => Number(r.amount_minor));

async function refusalOf(p: Promise<unknown>) {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  return (err as WorkflowUpdateFailedError).cause as Error & { type?: string };
}

describe('a credit note settled by refund', () => {
  it('on an invoice paid by card: RefundWorkflow runs once though its activity is retried, the money goes back once, the books net out', async () => {
    const attempts: string[] = [];
    await scenario(
      async ({ tenantId, invoiceId, handle, payByCard }) => {
        const paymentId = await payByCard(TOTAL);
        expect(await handle.query(invoiceState)).toMatchObject({ status: 'paid', paidMinor: TOTAL });

        const after = await handle.executeUpdate(creditInvoice, { args: [{ creditNoteId: 'cn-1', amountMinor: 6485, settlement: 'refund', reason: 'half returned' }] });
        // The first attempt started the refund and its answer was lost; the retry found the same refund done.
        expect(attempts).toEqual(['succeeded', 'succeeded']);
        expect(after).toMatchObject({ status: 'paid', creditNoteIds: ['cn-1'], creditedToBalanceMinor: 6485, refundedMinor: 6485, outstandingMinor: 0 });
        expect(after.payments).toEqual([{ paymentId, amountMinor: TOTAL, method: 'card', refundedMinor: 6485 }]);

        // One refund row, one provider refund, one RefundWorkflow run (one reservation in its history).
        const refundId = creditNoteRefundId(tenantId, invoiceId, 'cn-1', paymentId);
        expect(await refundsOf(tenantId, paymentId)).toEqual({ rows: [{ id: refundId, amount_minor: '6485', status: 'succeeded' }], refunded: 6485 });
        expect(await providerRefunds(paymentId)).toEqual([6485]);
        const refund = realTime.workflow.getHandle<typeof RefundWorkflow>(refundWorkflowId(tenantId, refundId));
        expect(await refund.result()).toMatchObject({ status: 'succeeded' });
        const scheduled = (await refund.fetchHistory()).events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'reserveRefund');
        expect(scheduled).toHaveLength(1);

        // Revenue and tax reversed once, pro rata; receivable and customer credit untouched; refunds nets to zero.
        expect(await balance(h, tenantId, 'sales_revenue')).toBe(11000 - 5500);
        expect(await balance(h, tenantId, 'tax_payable')).toBe(1970 - 985);
        expect(await balance(h, tenantId, 'refunds')).toBe(0);
        expect(await balance(h, tenantId, 'customer_credit')).toBe(0);
        expect(await balance(h, tenantId, 'accounts_receivable')).toBe(0);
        expect(await balance(h, tenantId, 'provider_clearing')).toBe(TOTAL - 6485);
        const credited = (await invoiceEvents(h, tenantId, invoiceId)).filter((e) => e.event_type === 'invoice.credited');
        expect(credited.map((e) => e.event.data)).toEqual([expect.objectContaining({ amountMinor: 6485, netMinor: 5500, taxMinor: 985, toCustomerCreditMinor: 0, refundedMinor: 6485 })]);
        expect(await invoiceRowOf(h, tenantId, invoiceId)).toMatchObject({ status: 'paid', credited_to_balance_minor: '6485' });
        const customerBalance = await withTenant(h.db, tenantId, async (tx) => (await tx.query('SELECT balance_minor FROM customer_credit_balances')).rows);
        expect(customerBalance).toEqual([]);
      },
      attempts,
      true,
    );
  });

  it('on a partly paid invoice: the part owed is taken off the receivable, only the rest is refunded', async () => {
    await scenario(async ({ tenantId, handle, payByCard }) => {
      const paymentId = await payByCard(5000);
      const after = await handle.executeUpdate(creditInvoice, { args: [{ creditNoteId: 'cn-all', amountMinor: TOTAL, settlement: 'refund' }] });
      expect(after).toMatchObject({ status: 'paid', creditedMinor: TOTAL - 5000, creditedToBalanceMinor: 5000, refundedMinor: 5000, outstandingMinor: 0 });
      expect((await refundsOf(tenantId, paymentId)).refunded).toBe(5000);
      expect(await balance(h, tenantId, 'accounts_receivable')).toBe(0);
      expect(await balance(h, tenantId, 'provider_clearing')).toBe(0);
      expect(await balance(h, tenantId, 'refunds')).toBe(0);
      expect(await balance(h, tenantId, 'sales_revenue')).toBe(0);
      expect(await balance(h, tenantId, 'tax_payable')).toBe(0);
    });
  });

  it('more than was paid by card is refused before anything starts: no credit note, no refund', async () => {
    await scenario(async ({ tenantId, handle, payByCard }) => {
      const paymentId = await payByCard(5000);
      await handle.executeUpdate(recordInvoicePayment, { args: [{ paymentId: 'bank-1', amountMinor: TOTAL - 5000, method: 'bank_transfer' }] });
      // 7000 beyond nothing owed: only 5000 came by card.
      const cause = await refusalOf(handle.executeUpdate(creditInvoice, { args: [{ creditNoteId: 'cn-over', amountMinor: 7000, settlement: 'refund' }] }));
      expect(cause.type).toBe(INVOICE_FAILURES.refundRefused);
      expect(cause.message).toMatch(/more than the 5000 paid by card/);
      expect(await handle.query(invoiceState)).toMatchObject({ status: 'paid', creditNoteIds: [], creditedToBalanceMinor: 0, refundedMinor: 0 });
      expect((await refundsOf(tenantId, paymentId)).rows).toEqual([]);
      expect(await balance(h, tenantId, 'sales_revenue')).toBe(11000);
    });
  });

  it('a refund the payment no longer allows (refunded apart from the invoice) refuses the credit note: nothing credited, nothing refunded', async () => {
    const attempts: string[] = [];
    await scenario(async ({ tenantId, handle, paymentsQueue, payByCard }) => {
      const paymentId = await payByCard(TOTAL);
      // 9000 refunded through the payments API's workflow, which the invoice does not know of: 3970 left.
      const direct = await realTime.workflow.start(RefundWorkflow, {
        workflowId: refundWorkflowId(tenantId, randomUUID()),
        taskQueue: paymentsQueue,
        args: [{ refundId: randomUUID(), tenantId, paymentId, amountMinor: 9000, idempotencyKey: 'direct-1' }],
      });
      expect(await direct.result()).toMatchObject({ status: 'succeeded' });

      const cause = await refusalOf(handle.executeUpdate(creditInvoice, { args: [{ creditNoteId: 'cn-late', amountMinor: 6485, settlement: 'refund' }] }));
      expect(attempts).toEqual(['rejected']);
      expect(cause.type).toBe(INVOICE_FAILURES.refundRefused);
      expect(cause.message).toMatch(/refund was refused .*exceed.*no credit note was issued/);
      expect(await handle.query(invoiceState)).toMatchObject({ status: 'paid', creditNoteIds: [], creditedToBalanceMinor: 0, refundedMinor: 0 });
      expect(await refundsOf(tenantId, paymentId)).toMatchObject({ refunded: 9000 });
      expect(await providerRefunds(paymentId)).toEqual([9000]);
      expect(await balance(h, tenantId, 'sales_revenue')).toBe(11000);
      expect(await balance(h, tenantId, 'refunds')).toBe(9000);
    }, attempts);
  });
});
