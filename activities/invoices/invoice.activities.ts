/**
 * InvoiceLifecycle's activities over injected ports: each a thin call of modules/invoices in one tenant
 * transaction. Idempotent by construction (entry ids from the invoice id and step, payment and credit-note rows by
 * their ids, events by occurrence); the dates that matter to the books come from the workflow.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, type Client } from '@temporalio/client';
import type { Pool, PoolClient } from 'pg';
import type { CreditSplit, DunningPolicy } from '../../core/invoices';
import * as invoices from '../../modules/invoices';
import { withTenant } from '../../platform/db/pool';
import { deterministicUuid } from '../../platform/ids';
import { LedgerError } from '../../platform/ledger';
import { INVOICE_FAILURES, type CreditNoteRefundOutcome, type InvoiceDraft, type InvoicePaymentMethod, type InvoiceStatus } from '../../workflows/invoices/invoice-lifecycle.contract';
import { REFUND_WORKFLOW_TYPE, refundWorkflowId, type RefundResult } from '../../workflows/payments/refund.contract';

export interface InvoiceActivityDeps {
  db: Pool;
  /** For a credit note's refund: a client to start RefundWorkflow, and the payments task queue it runs on. */
  temporal?: Client;
  refundTaskQueue?: string;
}

/** The refund a credit note asks of one card payment: one id per invoice, credit note and payment, for good. */
export const creditNoteRefundId = (tenantId: string, invoiceId: string, creditNoteId: string, paymentId: string) =>
  deterministicUuid('invoice-credit-note-refund', tenantId, invoiceId, creditNoteId, paymentId);

type Scoped = { tenantId: string; invoiceId: string };

/** The ledger's refusals and the database's CHECKs are business answers: never retried. */
function asFailure(err: unknown): never {
  if (err instanceof LedgerError) throw ApplicationFailure.nonRetryable(`the ledger refused the entry: ${err.message}`, INVOICE_FAILURES.ledgerRejected);
  if (err instanceof invoices.InvoiceNotDraft) throw ApplicationFailure.nonRetryable(err.message, INVOICE_FAILURES.notAllowedNow);
  const code = (err as { code?: string }).code;
  if (code === '23514' || code === '23505' || code === '22P02') throw ApplicationFailure.nonRetryable(`the invoice's constraints refused the change (${(err as Error).message})`, INVOICE_FAILURES.invalid);
  throw err;
}

export function createInvoiceActivities({ db, temporal, refundTaskQueue }: InvoiceActivityDeps) {
  const inTenant = <T>(tenantId: string, fn: (tx: PoolClient) => Promise<T>) => withTenant(db, tenantId, fn).catch(asFailure);

  return {
    async saveInvoiceDraft(input: Scoped & { draft: InvoiceDraft }): Promise<void> {
      await inTenant(input.tenantId, (tx) => invoices.saveDraft(tx, input.tenantId, input.invoiceId, input.draft));
    },

    async readDunningPolicy(input: { tenantId: string }): Promise<DunningPolicy> {
      return inTenant(input.tenantId, (tx) => invoices.dunningPolicy(tx));
    },

    async issueInvoiceInBooks(input: Scoped & { issueDate: string; dueDate: string; effectiveAt: string }): Promise<{ number: string; entryId: string }> {
      return inTenant(input.tenantId, (tx) => invoices.issueInvoice(tx, input));
    },

    async recordInvoicePaymentInBooks(
      input: Scoped & { paymentId: string; amountMinor: number; method: InvoicePaymentMethod; reference?: string; receivedOn: string; effectiveAt: string; status: InvoiceStatus; recordedBy?: string },
    ): Promise<void> {
      await inTenant(input.tenantId, (tx) => invoices.recordPayment(tx, input));
    },

    /**
     * Starts (or joins) the RefundWorkflow of this credit note and card payment and answers its outcome. Its id is
     * derived from the invoice, the credit note and the payment, started with USE_EXISTING / REJECT_DUPLICATE: a
     * retried attempt finds the same refund, and one already succeeded is answered from the books (its workflow's
     * history may be gone), so the money goes back once. Heartbeats while the refund runs.
     */
    async refundCreditNote(input: Scoped & { creditNoteId: string; paymentId: string; amountMinor: number; reason?: string }): Promise<CreditNoteRefundOutcome> {
      if (!temporal || !refundTaskQueue) throw new Error('a credit note refund needs a Temporal client and the payments task queue (workers/task-queues.ts)');
      const refundId = creditNoteRefundId(input.tenantId, input.invoiceId, input.creditNoteId, input.paymentId);
      const done = await withTenant(db, input.tenantId, (tx) => tx.query<{ status: string }>('SELECT status FROM payment_refunds WHERE id = $1', [refundId]));
      if (done.rows[0]?.status === 'succeeded') return { refundId, status: 'succeeded' };
      const workflowId = refundWorkflowId(input.tenantId, refundId);
      const handle = await temporal.workflow
        .start(REFUND_WORKFLOW_TYPE, {
          workflowId,
          taskQueue: refundTaskQueue,
          args: [{ refundId, tenantId: input.tenantId, paymentId: input.paymentId, amountMinor: input.amountMinor, idempotencyKey: `invoice:${input.invoiceId}:credit-note:${input.creditNoteId}`, reason: input.reason?.slice(0, 200) }],
          workflowIdConflictPolicy: 'USE_EXISTING',
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          staticSummary: `Refund ${input.amountMinor} of payment ${input.paymentId} for a credit note on invoice ${input.invoiceId}`,
        })
        .catch((err: unknown) => {
          if (err instanceof WorkflowExecutionAlreadyStartedError) return temporal.workflow.getHandle(workflowId);
          throw err;
        });
      const beat = setInterval(() => Context.current().heartbeat(), 5_000);
      try {
        const result = (await handle.result()) as RefundResult;
        return { refundId, status: result.status, message: result.failure?.message };
      } catch (err) {
        // Cancelled from Temporal (the reservation released) or a defect: nothing was refunded.
        if (err instanceof WorkflowFailedError) return { refundId, status: 'failed', message: err.cause?.message ?? err.message };
        throw err;
      } finally {
        clearInterval(beat);
      }
    },

    async creditInvoiceInBooks(
      input: Scoped & { creditNoteId: string; amountMinor: number; split: CreditSplit; refundedMinor?: number; reason?: string; effectiveAt: string; status: InvoiceStatus; createdBy?: string },
    ): Promise<void> {
      await inTenant(input.tenantId, (tx) => invoices.creditInvoice(tx, input));
    },

    async applyCustomerCreditInBooks(
      input: Scoped & { applicationId: string; maxMinor: number; receivedOn: string; effectiveAt: string; statusWhenPaid: InvoiceStatus; statusOtherwise: InvoiceStatus; recordedBy?: string },
    ): Promise<number> {
      return inTenant(input.tenantId, (tx) => invoices.applyCustomerCredit(tx, input));
    },

    async voidInvoiceInBooks(input: Scoped & { effectiveAt: string; reason?: string }): Promise<void> {
      await inTenant(input.tenantId, (tx) => invoices.voidInvoice(tx, input));
    },

    async writeOffInvoiceInBooks(input: Scoped & { amountMinor: number; effectiveAt: string; reason?: string }): Promise<void> {
      await inTenant(input.tenantId, (tx) => invoices.writeOffInvoice(tx, input));
    },

    async markInvoiceOverdue(input: Scoped): Promise<void> {
      await inTenant(input.tenantId, (tx) => invoices.markOverdue(tx, input.invoiceId));
    },

    async remindInvoice(input: Scoped & { reminderNumber: number; offsetDays: number }): Promise<void> {
      await inTenant(input.tenantId, (tx) => invoices.remindInvoice(tx, input));
    },
  };
}

export type InvoiceActivities = ReturnType<typeof createInvoiceActivities>;
