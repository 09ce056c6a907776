/**
 * A card payment that names an invoice (`invoiceRef`, the invoice's id) is delivered to that invoice's
 * InvoiceLifecycle as a payment update once the saga has captured and booked it (its entry moved receivable to
 * provider clearing, so the invoice records it without an entry of its own). Workflows cannot call each other's
 * updates: this activity does, idempotently (the update is keyed by the payment id; a second delivery is refused as
 * "already recorded", which is the answer wanted). An invoice that refuses the payment (void, or less outstanding
 * than was paid) is an outcome, reported for finance, not retried.
 */
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { log } from '@temporalio/activity';
import type { Currency } from '../../core/money';
import { invoiceWorkflowId, recordInvoicePayment } from '../../workflows/invoices/invoice-lifecycle.contract';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type InvoiceDelivery = 'delivered' | 'already-delivered' | 'no-invoice' | 'refused';

export function createInvoiceDeliveryActivities({ temporal }: { temporal?: Client }) {
  return {
    async deliverPaymentToInvoice(input: { tenantId: string; paymentId: string; invoiceRef: string; amountMinor: number; currency: Currency }): Promise<InvoiceDelivery> {
      if (!UUID.test(input.invoiceRef)) return 'no-invoice';
      if (!temporal) throw new Error('delivering a payment to its invoice needs a Temporal client (workers/create-workers.ts workerDeps)');
      const handle = temporal.workflow.getHandle(invoiceWorkflowId(input.tenantId, input.invoiceRef));
      try {
        await handle.executeUpdate(recordInvoicePayment, { args: [{ paymentId: input.paymentId, amountMinor: input.amountMinor, method: 'card' }] });
        return 'delivered';
      } catch (err) {
        if (err instanceof WorkflowNotFoundError || (err as { code?: number }).code === 5) return 'no-invoice';
        if (!(err instanceof WorkflowUpdateFailedError)) throw err;
        const reason = err.cause?.message ?? '';
        if (/already recorded/.test(reason)) return 'already-delivered';
        // Ids and amounts only.
        log.warn('the invoice refused a card payment: finance must settle it', { paymentId: input.paymentId, invoiceId: input.invoiceRef, amountMinor: input.amountMinor, reason });
        return 'refused';
      }
    },
  };
}

export type InvoiceDeliveryActivities = ReturnType<typeof createInvoiceDeliveryActivities>;
