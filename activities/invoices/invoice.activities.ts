/**
 * InvoiceLifecycle's activities over injected ports: each a thin call of modules/invoices in one tenant
 * transaction. Idempotent by construction (entry ids from the invoice id and step, payment and credit-note rows by
 * their ids, events by occurrence); the dates that matter to the books come from the workflow.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { Pool, PoolClient } from 'pg';
import type { CreditSplit, DunningPolicy } from '../../core/invoices';
import * as invoices from '../../modules/invoices';
import { withTenant } from '../../platform/db/pool';
import { LedgerError } from '../../platform/ledger';
import { INVOICE_FAILURES, type InvoiceDraft, type InvoicePaymentMethod, type InvoiceStatus } from '../../workflows/invoices/invoice-lifecycle.contract';

export interface InvoiceActivityDeps {
  db: Pool;
}

type Scoped = { tenantId: string; invoiceId: string };

/** The ledger's refusals and the database's CHECKs are business answers: never retried. */
function asFailure(err: unknown): never {
  if (err instanceof LedgerError) throw ApplicationFailure.nonRetryable(`the ledger refused the entry: ${err.message}`, INVOICE_FAILURES.ledgerRejected);
  if (err instanceof invoices.InvoiceNotDraft) throw ApplicationFailure.nonRetryable(err.message, INVOICE_FAILURES.notAllowedNow);
  const code = (err as { code?: string }).code;
  if (code === '23514' || code === '23505' || code === '22P02') throw ApplicationFailure.nonRetryable(`the invoice's constraints refused the change (${(err as Error).message})`, INVOICE_FAILURES.invalid);
  throw err;
}

export function createInvoiceActivities({ db }: InvoiceActivityDeps) {
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

    async creditInvoiceInBooks(input: Scoped & { creditNoteId: string; amountMinor: number; split: CreditSplit; reason?: string; effectiveAt: string; status: InvoiceStatus; createdBy?: string }): Promise<void> {
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
