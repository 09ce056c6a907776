/**
 * The invoice as InvoiceLifecycle keeps it: every rule of what may happen when (the updates' validators call the
 * check* methods) and how the state moves (apply*), over plain JSON that survives continue-as-new. No I/O, no
 * clock: moments are passed in. Workflow-safe.
 */
import { ApplicationFailure } from '@temporalio/common';
import { CURRENCIES } from '../../core/money';
import { dunningSchedule, invoiceTotals, isIsoDate, lineProblem, overdueFrom, splitCredit, TERMS_PATTERN, type CreditSplit, type DunningPolicy } from '../../core/invoices';
import {
  CREDIT_SETTLEMENTS,
  INVOICE_FAILURES,
  type ApplyCreditRequest,
  type CreditNoteRequest,
  type InvoiceDraft,
  type InvoiceLifecycleInput,
  type InvoiceLifecycleOptions,
  type InvoiceSnapshot,
  type InvoiceStatus,
  type RecordPaymentRequest,
} from './invoice-lifecycle.contract';

const DAY_MS = 86_400_000;
const OPEN: InvoiceStatus[] = ['issued', 'partially_paid', 'overdue'];
const SETTLED: InvoiceStatus[] = ['paid', 'credited'];
const ID = /^[A-Za-z0-9._:-]{1,64}$/;
const METHODS = ['bank_transfer', 'cash', 'card', 'customer_credit'];

const refuse = (message: string, type: string = INVOICE_FAILURES.notAllowedNow) => ApplicationFailure.nonRetryable(message, type);

export type InvoiceTimer = { kind: 'reminder'; at: number; reminderNumber: number } | { kind: 'overdue'; at: number } | { kind: 'close'; at: number };

export function draftProblem(d: InvoiceDraft): string | undefined {
  if (typeof d.customerId !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(d.customerId)) return 'customerId must be an opaque id of [A-Za-z0-9_-]';
  if (!(CURRENCIES as readonly string[]).includes(d.currency)) return `unknown currency ${String(d.currency)}`;
  if (!Array.isArray(d.lines)) return 'lines must be a list';
  const lines = lineProblem(d.lines);
  if (lines) return lines;
  if (d.terms !== undefined && (!TERMS_PATTERN.test(d.terms) || Number(d.terms.slice(4)) > 365)) return 'terms are net_<days>, from net_0 to net_365';
  if (d.dueDate !== undefined && !isIsoDate(d.dueDate)) return 'dueDate must be a date (YYYY-MM-DD)';
  if (d.note !== undefined && (typeof d.note !== 'string' || d.note.length > 1000)) return 'note is at most 1000 characters';
  return undefined;
}

export class InvoiceState {
  /** Bumped on every change: the workflow's main loop wakes on it to recompute its timers. */
  version = 0;

  constructor(readonly s: InvoiceSnapshot) {}

  static fresh(input: InvoiceLifecycleInput): InvoiceState {
    const t = invoiceTotals(input.draft.lines);
    return new InvoiceState({
      invoiceId: input.invoiceId,
      tenantId: input.tenantId,
      series: input.series,
      status: 'draft',
      draft: input.draft,
      subtotalMinor: t.subtotalMinor,
      taxMinor: t.taxMinor,
      totalMinor: t.totalMinor,
      paidMinor: 0,
      creditedMinor: 0,
      creditedToBalanceMinor: 0,
      refundedMinor: 0,
      writtenOffMinor: 0,
      outstandingMinor: 0,
      payments: [],
      creditNoteIds: [],
      creditApplicationIds: [],
      reminders: [],
      generation: 0,
    });
  }

  get status(): InvoiceStatus {
    return this.s.status;
  }
  get isOpen(): boolean {
    return OPEN.includes(this.s.status);
  }
  /** void and written_off end the invoice's life; paid and credited end it after the credit-note window. */
  get hasEnded(): boolean {
    return this.s.status === 'void' || this.s.status === 'written_off';
  }

  private changed() {
    this.version += 1;
    this.s.outstandingMinor = this.s.status === 'draft' || this.s.status === 'void' ? 0 : this.s.totalMinor - this.s.paidMinor - this.s.creditedMinor - this.s.writtenOffMinor;
  }

  private need(allowed: InvoiceStatus[], verb: string) {
    if (!allowed.includes(this.s.status)) throw refuse(`the invoice is ${this.s.status}; it cannot be ${verb} now`);
  }

  // Draft

  mergedDraft(patch: Partial<InvoiceDraft>): InvoiceDraft {
    const merged: InvoiceDraft = { ...this.s.draft };
    for (const key of ['customerId', 'currency', 'lines', 'terms', 'dueDate', 'note'] as const) {
      if (patch[key] !== undefined) (merged as unknown as Record<string, unknown>)[key] = patch[key];
    }
    return merged;
  }

  checkDraftUpdate(patch: Partial<InvoiceDraft>): void {
    this.need(['draft'], 'edited');
    if (patch === null || typeof patch !== 'object') throw refuse('send the fields to change', INVOICE_FAILURES.invalid);
    const problem = draftProblem(this.mergedDraft(patch));
    if (problem) throw refuse(problem, INVOICE_FAILURES.invalid);
  }

  applyDraft(draft: InvoiceDraft): void {
    const t = invoiceTotals(draft.lines);
    Object.assign(this.s, { draft, subtotalMinor: t.subtotalMinor, taxMinor: t.taxMinor, totalMinor: t.totalMinor });
    this.changed();
  }

  // Issue

  checkIssue(): void {
    this.need(['draft'], 'issued');
    if (this.s.draft.lines.length === 0 || this.s.totalMinor <= 0) throw refuse('an invoice needs lines and a total above zero to be issued', INVOICE_FAILURES.invalid);
  }

  applyIssued(issued: { number: string; issueDate: string; dueDate: string; policy: DunningPolicy }): void {
    Object.assign(this.s, { status: 'issued', number: issued.number, issueDate: issued.issueDate, dueDate: issued.dueDate, reminders: dunningSchedule(issued.issueDate, issued.dueDate, issued.policy) });
    this.changed();
  }

  // Payments

  checkPayment(p: RecordPaymentRequest): void {
    this.need(OPEN, 'paid');
    if (!p || typeof p.paymentId !== 'string' || !ID.test(p.paymentId)) throw refuse('a paymentId of [A-Za-z0-9._:-] is required', INVOICE_FAILURES.invalid);
    if (!METHODS.includes(p.method) || p.method === 'customer_credit') throw refuse('method must be bank_transfer, cash or card', INVOICE_FAILURES.invalid);
    if (!Number.isSafeInteger(p.amountMinor) || p.amountMinor < 1) throw refuse('amountMinor must be a positive whole number of minor units', INVOICE_FAILURES.invalid);
    if (this.s.payments.some((x) => x.paymentId === p.paymentId)) throw refuse(`payment ${p.paymentId} is already recorded on this invoice`);
    if (p.amountMinor > this.s.outstandingMinor) throw refuse(`the payment of ${p.amountMinor} is more than the ${this.s.outstandingMinor} outstanding`, INVOICE_FAILURES.overOutstanding);
  }

  /** The status a payment of `amountMinor` leaves the invoice in. */
  statusAfterPayment(amountMinor: number): InvoiceStatus {
    if (amountMinor >= this.s.outstandingMinor) return 'paid';
    return this.s.status === 'overdue' ? 'overdue' : 'partially_paid';
  }

  applyPayment(p: { paymentId: string; amountMinor: number; method: RecordPaymentRequest['method'] }, now: number): void {
    const status = this.statusAfterPayment(p.amountMinor);
    this.s.payments.push({ paymentId: p.paymentId, amountMinor: p.amountMinor, method: p.method });
    this.s.paidMinor += p.amountMinor;
    this.s.status = status;
    if (status === 'paid') this.s.settledAt = now;
    this.changed();
  }

  // Customer credit

  checkApplyCredit(a: ApplyCreditRequest): void {
    this.need(OPEN, 'paid from customer credit');
    if (!a || typeof a.applicationId !== 'string' || !ID.test(a.applicationId)) throw refuse('an applicationId of [A-Za-z0-9._:-] is required', INVOICE_FAILURES.invalid);
    if (this.s.creditApplicationIds.includes(a.applicationId)) throw refuse(`credit application ${a.applicationId} was already made`);
  }

  applyCustomerCredit(applicationId: string, amountMinor: number, now: number): void {
    this.s.creditApplicationIds.push(applicationId);
    if (amountMinor > 0) this.applyPayment({ paymentId: applicationId, amountMinor, method: 'customer_credit' }, now);
    else this.changed();
  }

  // Void

  checkVoid(): void {
    this.need(['draft', 'issued', 'overdue'], 'voided');
    if (this.s.paidMinor > 0 || this.s.creditedMinor > 0 || this.s.creditedToBalanceMinor > 0) throw refuse('an invoice with payments or credit notes cannot be voided: issue a credit note');
  }

  applyVoid(): void {
    this.s.status = 'void';
    this.changed();
  }

  // Credit notes

  checkCredit(c: CreditNoteRequest): void {
    this.need([...OPEN, 'paid'], 'credited');
    if (!c || typeof c.creditNoteId !== 'string' || !ID.test(c.creditNoteId)) throw refuse('a creditNoteId of [A-Za-z0-9._:-] is required', INVOICE_FAILURES.invalid);
    if (!Number.isSafeInteger(c.amountMinor) || c.amountMinor < 1) throw refuse('amountMinor must be a positive whole number of minor units', INVOICE_FAILURES.invalid);
    if (this.s.creditNoteIds.includes(c.creditNoteId)) throw refuse(`credit note ${c.creditNoteId} is already recorded on this invoice`);
    if (c.settlement !== undefined && !CREDIT_SETTLEMENTS.includes(c.settlement)) throw refuse('settlement must be customer_credit or refund', INVOICE_FAILURES.invalid);
    const creditable = this.s.totalMinor - this.s.creditedMinor - this.s.creditedToBalanceMinor - this.s.writtenOffMinor;
    if (c.amountMinor > creditable) throw refuse(`the credit of ${c.amountMinor} is more than the ${creditable} left to credit`, INVOICE_FAILURES.overOutstanding);
    if (c.settlement === 'refund') {
      const toRefund = this.creditSplit(c.amountMinor).toCustomerCreditMinor;
      const refundable = this.cardRefundableMinor();
      if (toRefund > refundable) {
        throw refuse(`the credit of ${c.amountMinor} would refund ${toRefund}, more than the ${refundable} paid by card and not yet refunded`, INVOICE_FAILURES.refundRefused);
      }
    }
  }

  /** What card payments recorded on this invoice brought in and credit notes have not refunded yet. */
  cardRefundableMinor(): number {
    return this.s.payments.filter((p) => p.method === 'card').reduce((sum, p) => sum + p.amountMinor - (p.refundedMinor ?? 0), 0);
  }

  /** The refunds that pay `amountMinor` back: card payments in the order they came, each up to what is left of it. */
  refundPlan(amountMinor: number): { paymentId: string; amountMinor: number }[] {
    const plan: { paymentId: string; amountMinor: number }[] = [];
    let left = amountMinor;
    for (const p of this.s.payments) {
      if (left === 0) break;
      if (p.method !== 'card') continue;
      const take = Math.min(left, p.amountMinor - (p.refundedMinor ?? 0));
      if (take > 0) plan.push({ paymentId: p.paymentId, amountMinor: take });
      left -= take;
    }
    return plan;
  }

  creditSplit(amountMinor: number): CreditSplit {
    return splitCredit({ amountMinor, subtotalMinor: this.s.subtotalMinor, taxMinor: this.s.taxMinor, outstandingMinor: this.s.outstandingMinor, currency: this.s.draft.currency });
  }

  statusAfterCredit(split: CreditSplit): InvoiceStatus {
    if (this.s.outstandingMinor - split.againstOutstandingMinor > 0) return this.s.status === 'issued' && this.s.paidMinor > 0 ? 'partially_paid' : this.s.status;
    return this.s.paidMinor > 0 ? 'paid' : 'credited';
  }

  /** `refunded`: the card refunds that settled part of the credit (the rest beyond what was owed is customer credit). */
  applyCredit(creditNoteId: string, split: CreditSplit, now: number, refunded: { paymentId: string; amountMinor: number }[] = []): void {
    const status = this.statusAfterCredit(split);
    for (const r of refunded) {
      const p = this.s.payments.find((x) => x.paymentId === r.paymentId)!;
      p.refundedMinor = (p.refundedMinor ?? 0) + r.amountMinor;
      this.s.refundedMinor = (this.s.refundedMinor ?? 0) + r.amountMinor;
    }
    this.s.creditNoteIds.push(creditNoteId);
    this.s.creditedMinor += split.againstOutstandingMinor;
    this.s.creditedToBalanceMinor += split.toCustomerCreditMinor;
    if (!SETTLED.includes(this.s.status) && SETTLED.includes(status)) this.s.settledAt = now;
    this.s.status = status;
    this.changed();
  }

  // Write-off

  checkWriteOff(): void {
    this.need(['overdue'], 'written off (only an overdue balance is)');
  }

  applyWriteOff(amountMinor: number): void {
    this.s.writtenOffMinor += amountMinor;
    this.s.status = 'written_off';
    this.changed();
  }

  // Timers

  /** The next durable timer: a reminder, the moment it becomes overdue, or the end of the credit-note window. */
  nextTimer(options: InvoiceLifecycleOptions): InvoiceTimer | undefined {
    if (SETTLED.includes(this.s.status) && this.s.settledAt !== undefined) return { kind: 'close', at: this.s.settledAt + options.keepOpenAfterSettledDays * DAY_MS };
    if (!this.isOpen || !this.s.dueDate) return undefined;
    const timers: InvoiceTimer[] = this.s.reminders.filter((r) => !r.sent).map((r) => ({ kind: 'reminder' as const, at: Date.parse(`${r.date}T00:00:00Z`), reminderNumber: r.number }));
    if (this.s.status !== 'overdue') timers.push({ kind: 'overdue', at: overdueFrom(this.s.dueDate) });
    // The overdue mark comes before a reminder on the same moment.
    return timers.sort((a, b) => a.at - b.at || (a.kind === 'overdue' ? -1 : 1))[0];
  }

  markReminderSent(reminderNumber: number): void {
    const r = this.s.reminders.find((x) => x.number === reminderNumber);
    if (r) r.sent = true;
    this.changed();
  }

  markOverdue(): void {
    if (this.s.status === 'issued' || this.s.status === 'partially_paid') this.s.status = 'overdue';
    this.changed();
  }

  snapshot(): InvoiceSnapshot {
    return this.s;
  }
}
