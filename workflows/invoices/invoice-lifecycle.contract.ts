/** InvoiceLifecycle's contract, shared by the workflow, its activities, the API and the tests. Side-effect free. */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { DunningPolicy, InvoiceLine, Reminder } from '../../core/invoices';
import type { Currency } from '../../core/money';

export const INVOICE_WORKFLOW_TYPE = 'InvoiceLifecycle';
export const invoiceWorkflowId = (tenantId: string, invoiceId: string) => `invoice:${tenantId}:${invoiceId}`;

export type InvoiceStatus = 'draft' | 'issued' | 'partially_paid' | 'paid' | 'overdue' | 'credited' | 'void' | 'written_off';
export type InvoicePaymentMethod = 'bank_transfer' | 'cash' | 'card' | 'customer_credit';

/** What a draft holds; every field of it can be edited while it is a draft. */
export interface InvoiceDraft {
  customerId: string;
  currency: Currency;
  lines: InvoiceLine[];
  /** net_<days>; ignored when dueDate is given. Default net_30. */
  terms?: string;
  dueDate?: string;
  note?: string;
}

export interface InvoiceLifecycleOptions {
  /** How long a settled invoice (paid, credited) still takes credit notes before its workflow completes. */
  keepOpenAfterSettledDays: number;
  /** Continue-as-new past this many history events (Temporal's own suggestion also counts). */
  historyEventLimit: number;
}
export const DEFAULT_INVOICE_OPTIONS: InvoiceLifecycleOptions = { keepOpenAfterSettledDays: 120, historyEventLimit: 5000 };

export interface InvoicePaymentRecord {
  paymentId: string;
  amountMinor: number;
  method: InvoicePaymentMethod;
  /** A card payment: how much of it credit notes have refunded (RefundWorkflow). Absent: none. */
  refundedMinor?: number;
}

/** How a credit note settles what it credits beyond what is still owed (the invoice was paid). */
export type CreditSettlement = 'customer_credit' | 'refund';
export const CREDIT_SETTLEMENTS: readonly CreditSettlement[] = ['customer_credit', 'refund'];
/** The patch that brings credit notes refunding through RefundWorkflow (InvoiceLifecycle's credit handler). */
export const CREDIT_NOTE_REFUNDS = 'credit-note-refunds';

/** The workflow's state: plain JSON, carried across continue-as-new. */
export interface InvoiceSnapshot {
  invoiceId: string;
  tenantId: string;
  series: string;
  status: InvoiceStatus;
  draft: InvoiceDraft;
  subtotalMinor: number;
  taxMinor: number;
  totalMinor: number;
  number?: string;
  issueDate?: string;
  dueDate?: string;
  paidMinor: number;
  creditedMinor: number;
  /** Credited beyond what was owed: to the customer's credit balance, or refunded to the card. */
  creditedToBalanceMinor: number;
  /** The part of creditedToBalanceMinor refunded to the card by credit notes (absent in states from before). */
  refundedMinor?: number;
  writtenOffMinor: number;
  outstandingMinor: number;
  payments: InvoicePaymentRecord[];
  creditNoteIds: string[];
  creditApplicationIds: string[];
  reminders: Reminder[];
  /** When it was paid or credited in full (epoch ms): credit notes are taken for keepOpenAfterSettledDays after. */
  settledAt?: number;
  /** How many times the execution continued as new. */
  generation: number;
}

export interface InvoiceLifecycleInput {
  tenantId: string;
  invoiceId: string;
  series: string;
  draft: InvoiceDraft;
  options: InvoiceLifecycleOptions;
  /** Present after continue-as-new: the state to carry on from. */
  carried?: InvoiceSnapshot;
}

export interface InvoiceLifecycleResult {
  invoiceId: string;
  status: InvoiceStatus;
}

/** Why an update was refused or failed: the API maps these to HTTP problems from one table. */
export const INVOICE_FAILURES = {
  invalid: 'InvoiceInvalid',
  notAllowedNow: 'InvoiceNotAllowedNow',
  overOutstanding: 'InvoiceOverOutstanding',
  ledgerRejected: 'InvoiceLedgerRejected',
  /** A credit note asked for a refund that was refused (more than was paid by card and is left to refund, the provider declined): no credit note. */
  refundRefused: 'InvoiceRefundRefused',
} as const;
export type InvoiceFailureType = (typeof INVOICE_FAILURES)[keyof typeof INVOICE_FAILURES];

export interface RecordPaymentRequest {
  /** The payment's own id: a second delivery of the same payment is refused, never applied twice. */
  paymentId: string;
  amountMinor: number;
  method: InvoicePaymentMethod;
  reference?: string;
  recordedBy?: string;
}
export interface CreditNoteRequest {
  creditNoteId: string;
  amountMinor: number;
  /** Default customer_credit. refund: what the credit exceeds the amount owed by is refunded to the card payment(s). */
  settlement?: CreditSettlement;
  reason?: string;
  createdBy?: string;
}

/** The outcome of one refund a credit note asked for (the refund activity's answer). */
export interface CreditNoteRefundOutcome {
  refundId: string;
  status: 'succeeded' | 'rejected' | 'failed';
  message?: string;
}
export interface ApplyCreditRequest {
  applicationId: string;
  recordedBy?: string;
}

export const invoiceState = defineQuery<InvoiceSnapshot>('invoiceState');
/** Replaces draft fields (lines as a whole). Valid only while a draft. */
export const updateDraft = defineUpdate<InvoiceSnapshot, [Partial<InvoiceDraft>]>('updateDraft');
/** Issues the draft: number from the database, ledger entry, invoice.created, the printable document. */
export const issueInvoice = defineUpdate<InvoiceSnapshot, [{ issuedBy?: string }]>('issueInvoice');
/** A payment received (bank transfer, cash; a card payment from the payment saga). Never more than outstanding. */
export const recordInvoicePayment = defineUpdate<InvoiceSnapshot, [RecordPaymentRequest]>('recordInvoicePayment');
/** Voids an invoice nothing was paid on (reverses the issue entry), or a draft. */
export const voidInvoice = defineUpdate<InvoiceSnapshot, [{ reason?: string }]>('voidInvoice');
/** A credit note: revenue and tax reversed pro rata; beyond what is owed, the customer's credit balance. */
export const creditInvoice = defineUpdate<InvoiceSnapshot, [CreditNoteRequest]>('creditInvoice');
/** Writes an overdue balance off to bad-debt expense. */
export const writeOffInvoice = defineUpdate<InvoiceSnapshot, [{ reason?: string }]>('writeOffInvoice');
/** Applies the customer's credit balance (from earlier credit notes) to this invoice. */
export const applyCustomerCredit = defineUpdate<InvoiceSnapshot, [ApplyCreditRequest]>('applyCustomerCredit');

/** Event payloads (CloudEvents data) of the invoice events on `payment.events`, keyed by the invoice id. */
export interface InvoiceEventBase {
  invoiceId: string;
  number: string | null;
  customerId: string;
  currency: Currency;
}
export interface InvoiceReminderDue extends InvoiceEventBase {
  reminderNumber: number;
  offsetDays: number;
  dueDate: string;
  outstandingMinor: number;
}
export type { DunningPolicy };
