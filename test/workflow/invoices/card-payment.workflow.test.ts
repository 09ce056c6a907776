/**
 * A card payment that names its invoice: PaymentSaga captures it and books receivable -> provider clearing, then an
 * activity delivers it to the invoice's InvoiceLifecycle as a payment update (workflows cannot call each other's
 * updates). Both workflows run on the time-skipping test server with their real activities; the provider is the
 * stripe-mock sandbox.
 */
import { randomUUID } from 'node:crypto';
import { Client } from '@temporalio/client';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createInvoiceDeliveryActivities, createPaymentActivities, StripeMockSandboxProvider, stripeClient } from '../../../activities/payments';
import { createDataConverter } from '../../../platform/temporal/client';
import { PaymentSaga } from '../../../workflows/payments';
import { paymentWorkflowId } from '../../../workflows/payments/payment.contract';
import { invoiceState, issueInvoice } from '../../../workflows/invoices/invoice-lifecycle.contract';
import { insertPaymentRow, paymentInput } from '../../support/payment-rows';
import { bundle } from '../../support/temporal';
import { balance, cfg, invoiceEvents, newTenant, startHarness, startInvoice, stopHarness, TOTAL, withWorker, type Harness } from './harness';

jest.setTimeout(180_000);
let h: Harness;
let paymentsBundle: WorkflowBundleWithSourceMap;
beforeAll(async () => {
  [h, paymentsBundle] = await Promise.all([startHarness(), bundle(require.resolve('../../../workflows/payments'))]);
}, 180_000);
afterAll(() => stopHarness(h));

async function withPaymentsWorker<T>(fn: (taskQueue: string) => Promise<T>): Promise<T> {
  const taskQueue = `${cfg.TEMPORAL_TASK_QUEUE_PREFIX}payments-${randomUUID()}`;
  const provider = new StripeMockSandboxProvider(stripeClient({ mockUrl: cfg.STRIPE_MOCK_URL }), h.db);
  const activities = {
    ...createPaymentActivities({ db: h.db, provider, risk: { maxAmountMinor: 1_000_000, reviewAmountMinor: 1_000_000, velocityPerHour: 1000, deniedCustomers: new Set() } }),
    ...createInvoiceDeliveryActivities({ temporal: h.env.client }),
  };
  const worker = await Worker.create({ connection: h.env.nativeConnection, taskQueue, workflowBundle: paymentsBundle, activities, dataConverter: createDataConverter(cfg) });
  return worker.runUntil(fn(taskQueue));
}

describe('a card payment of an invoice', () => {
  it('is booked by the saga and recorded on the invoice once, which is then partially paid', async () => {
    const tenantId = await newTenant(h, []);
    await withWorker(h, (invoicesQueue) =>
      withPaymentsWorker(async (paymentsQueue) => {
        const { invoiceId, handle } = await startInvoice(h, tenantId, invoicesQueue);
        await handle.executeUpdate(issueInvoice, { args: [{}] });
        const input = paymentInput(tenantId, { amountMinor: 5000, invoiceRef: invoiceId });
        await insertPaymentRow(h.db, input);
        // Waited on without time skipping: env.client would let the server skip a month while the saga works, and the
        // invoice would fall overdue meanwhile.
        const realTime = new Client({ connection: h.env.connection, namespace: h.env.namespace, dataConverter: createDataConverter(cfg) });
        const saga = await realTime.workflow.start(PaymentSaga, { workflowId: paymentWorkflowId(tenantId, input.paymentId), taskQueue: paymentsQueue, args: [input] });
        expect(await saga.result()).toMatchObject({ status: 'succeeded' });

        expect(await handle.query(invoiceState)).toMatchObject({ status: 'partially_paid', paidMinor: 5000, outstandingMinor: TOTAL - 5000, payments: [{ paymentId: input.paymentId, method: 'card', amountMinor: 5000 }] });
        // One entry for the money: the saga's (clearing / receivable); the invoice books none of its own.
        expect(await balance(h, tenantId, 'provider_clearing')).toBe(5000);
        expect(await balance(h, tenantId, 'accounts_receivable')).toBe(TOTAL - 5000);
        expect(await balance(h, tenantId, 'cash')).toBe(0);
        expect((await invoiceEvents(h, tenantId, invoiceId)).map((e) => e.event_type)).toEqual(['invoice.created', 'invoice.payment_received']);

        // Delivered again (a retried activity): the invoice already has it.
        const again = await createInvoiceDeliveryActivities({ temporal: h.env.client }).deliverPaymentToInvoice({ tenantId, paymentId: input.paymentId, invoiceRef: invoiceId, amountMinor: 5000, currency: 'EUR' });
        expect(again).toBe('already-delivered');
        expect((await handle.query(invoiceState)).paidMinor).toBe(5000);
      }),
    );
  });
});
