/**
 * InvoiceLifecycle: one long-lived execution per invoice (an entity), thin wiring over InvoiceState.
 *
 *   draft (edited by updateDraft) -> issue (number from the database, receivable vs revenue and tax payable,
 *   invoice.created, the printable document) -> payments (recorded by finance, or by the payment saga), credit
 *   notes and customer credit, reminders on durable timers from the tenant's dunning policy, overdue the day after
 *   the due date -> paid | credited (then open for credit notes a while) | void | written off.
 *
 * Every update is validated by the state (a refusal changes nothing), then run one at a time: the state is checked
 * again under the lock, the books are written by an activity, and only then does the state move. Dates for the
 * books are the workflow's, so a retried step posts the very same entry. A long history continues as new once all
 * handlers have finished, carrying the state and its pending reminders.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { InvoiceActivities } from '../../activities/invoices';
import { dateOf, dueDateFor } from '../../core/invoices';
import { AmountOutstanding, Currency, CustomerId, DueDate, Status, TenantId } from '../../temporal-config/search-attributes';
import {
  applyCustomerCredit,
  CREDIT_NOTE_REFUNDS,
  creditInvoice,
  INVOICE_FAILURES,
  invoiceState,
  issueInvoice,
  recordInvoicePayment,
  updateDraft,
  voidInvoice,
  writeOffInvoice,
  type CreditNoteRefundOutcome,
  type InvoiceLifecycleInput,
  type InvoiceLifecycleResult,
} from './invoice-lifecycle.contract';
import { InvoiceState, type InvoiceTimer } from './invoice-lifecycle.state';

export type { InvoiceLifecycleResult } from './invoice-lifecycle.contract';

const BUSINESS_FAILURES = [INVOICE_FAILURES.ledgerRejected, INVOICE_FAILURES.invalid, INVOICE_FAILURES.notAllowedNow];
/** A step someone waits on (an update from the API): a refusal fails it at once, an outage after about a minute. */
const requested = proxyActivities<InvoiceActivities>({
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '500 ms', maximumInterval: '10 seconds', maximumAttempts: 8, nonRetryableErrorTypes: BUSINESS_FAILURES },
});
/** A step the invoice's own timers drive (overdue, reminders): retried for as long as the database is out. */
const untilDone = proxyActivities<InvoiceActivities>({
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: BUSINESS_FAILURES },
});

/**
 * A credit note's refund: the activity starts RefundWorkflow (or joins it: its id comes from the invoice, the credit
 * note and the payment) and waits for its result, heartbeating. A retry finds the same refund, never a second one;
 * a refund waiting out a provider outage is waited for.
 */
const refunding = proxyActivities<InvoiceActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: BUSINESS_FAILURES },
});

export async function InvoiceLifecycle(input: InvoiceLifecycleInput): Promise<InvoiceLifecycleResult> {
  const { tenantId, invoiceId, options } = input;
  const state = input.carried ? new InvoiceState(input.carried) : InvoiceState.fresh(input);
  const scoped = { tenantId, invoiceId };
  const s = state.s;

  /** Search attributes and the Web UI's details: ids, states, amounts and dates only. */
  const publish = () => {
    upsertSearchAttributes({
      [TenantId.name]: [tenantId],
      [Status.name]: [s.status],
      [CustomerId.name]: [s.draft.customerId],
      [Currency.name]: [s.draft.currency],
      [AmountOutstanding.name]: [s.outstandingMinor],
      ...(s.dueDate ? { [DueDate.name]: [new Date(`${s.dueDate}T00:00:00Z`)] } : {}),
    });
    setCurrentDetails(
      [`**Invoice:** ${s.number ?? 'draft'}`, `**Status:** ${s.status}`, `**Total:** ${s.totalMinor} ${s.draft.currency} minor units`, `**Outstanding:** ${s.outstandingMinor}`, s.dueDate ? `**Due:** ${s.dueDate}` : '']
        .filter(Boolean)
        .join('\n\n'),
    );
  };
  publish();

  // Handlers that write the books run one at a time, each re-checking the state it was validated against.
  let busy = false;
  async function exclusive<T>(run: () => Promise<T>): Promise<T> {
    await condition(() => !busy);
    busy = true;
    try {
      const result = await run();
      publish();
      return result;
    } finally {
      busy = false;
    }
  }
  const now = () => Date.now();
  const effectiveAt = () => new Date().toISOString();

  setHandler(invoiceState, () => state.snapshot());

  setHandler(
    updateDraft,
    (patch) =>
      exclusive(async () => {
        state.checkDraftUpdate(patch);
        const draft = state.mergedDraft(patch);
        await requested.saveInvoiceDraft({ ...scoped, draft });
        state.applyDraft(draft);
        return state.snapshot();
      }),
    { validator: (patch) => state.checkDraftUpdate(patch) },
  );

  setHandler(
    issueInvoice,
    (_by) =>
      exclusive(async () => {
        state.checkIssue();
        const issueDate = dateOf(now());
        const dueDate = dueDateFor(issueDate, s.draft);
        const policy = await requested.readDunningPolicy({ tenantId });
        const issued = await requested.issueInvoiceInBooks({ ...scoped, issueDate, dueDate, effectiveAt: effectiveAt() });
        state.applyIssued({ number: issued.number, issueDate, dueDate, policy });
        return state.snapshot();
      }),
    { validator: (_by) => state.checkIssue() },
  );

  setHandler(
    recordInvoicePayment,
    (p) =>
      exclusive(async () => {
        state.checkPayment(p);
        await requested.recordInvoicePaymentInBooks({ ...scoped, ...p, receivedOn: dateOf(now()), effectiveAt: effectiveAt(), status: state.statusAfterPayment(p.amountMinor) });
        state.applyPayment(p, now());
        return state.snapshot();
      }),
    { validator: (p) => state.checkPayment(p) },
  );

  setHandler(
    applyCustomerCredit,
    (a) =>
      exclusive(async () => {
        state.checkApplyCredit(a);
        const applied = await requested.applyCustomerCreditInBooks({
          ...scoped,
          applicationId: a.applicationId,
          maxMinor: s.outstandingMinor,
          receivedOn: dateOf(now()),
          effectiveAt: effectiveAt(),
          statusWhenPaid: 'paid',
          statusOtherwise: s.status === 'overdue' ? 'overdue' : 'partially_paid',
          recordedBy: a.recordedBy,
        });
        state.applyCustomerCredit(a.applicationId, applied, now());
        return state.snapshot();
      }),
    { validator: (a) => state.checkApplyCredit(a) },
  );

  setHandler(
    creditInvoice,
    (c) =>
      exclusive(async () => {
        state.checkCredit(c);
        const split = state.creditSplit(c.amountMinor);
        // settlement refund: what the credit exceeds the amount owed by goes back to the card payment(s) first, through
        // RefundWorkflow; the credit note is booked only after, its excess against the refunds account (the refund's
        // own entry is refunds / provider clearing). Refused outright, nothing is credited. If a later refund of
        // several is refused, what was refunded stays refunded and the rest becomes customer credit.
        const refunded: { paymentId: string; amountMinor: number }[] = [];
        if (c.settlement === 'refund' && split.toCustomerCreditMinor > 0 && patched(CREDIT_NOTE_REFUNDS)) {
          let refusal: CreditNoteRefundOutcome | undefined;
          for (const part of state.refundPlan(split.toCustomerCreditMinor)) {
            const outcome = await refunding.refundCreditNote({ ...scoped, creditNoteId: c.creditNoteId, paymentId: part.paymentId, amountMinor: part.amountMinor, reason: c.reason });
            if (outcome.status !== 'succeeded') {
              refusal = outcome;
              break;
            }
            refunded.push(part);
          }
          if (refusal && refunded.length === 0) {
            throw ApplicationFailure.nonRetryable(`the refund was refused (${refusal.message ?? refusal.status}): no credit note was issued`, INVOICE_FAILURES.refundRefused);
          }
        }
        const refundedMinor = refunded.reduce((sum, r) => sum + r.amountMinor, 0);
        // Once money has gone back, the credit note is booked whatever it takes (a database outage is waited out).
        await (refundedMinor > 0 ? untilDone : requested).creditInvoiceInBooks({ ...scoped, ...c, split, refundedMinor, effectiveAt: effectiveAt(), status: state.statusAfterCredit(split) });
        state.applyCredit(c.creditNoteId, split, now(), refunded);
        return state.snapshot();
      }),
    { validator: (c) => state.checkCredit(c) },
  );

  setHandler(
    voidInvoice,
    (v) =>
      exclusive(async () => {
        state.checkVoid();
        await requested.voidInvoiceInBooks({ ...scoped, effectiveAt: effectiveAt(), reason: v?.reason });
        state.applyVoid();
        return state.snapshot();
      }),
    { validator: (_v) => state.checkVoid() },
  );

  setHandler(
    writeOffInvoice,
    (w) =>
      exclusive(async () => {
        state.checkWriteOff();
        const amountMinor = s.outstandingMinor;
        await requested.writeOffInvoiceInBooks({ ...scoped, amountMinor, effectiveAt: effectiveAt(), reason: w?.reason });
        state.applyWriteOff(amountMinor);
        return state.snapshot();
      }),
    { validator: (_w) => state.checkWriteOff() },
  );

  const historyIsLong = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= options.historyEventLimit;

  async function fire(timer: InvoiceTimer): Promise<'closed' | undefined> {
    // The state may have moved while the timer ran out (a payment just arrived): only a timer still due fires.
    const due = state.nextTimer(options);
    if (!due || due.kind !== timer.kind || due.at !== timer.at) return undefined;
    if (timer.kind === 'close') return 'closed';
    if (timer.kind === 'overdue') {
      await untilDone.markInvoiceOverdue(scoped);
      state.markOverdue();
    } else {
      const reminder = s.reminders.find((r) => r.number === timer.reminderNumber)!;
      await untilDone.remindInvoice({ ...scoped, reminderNumber: reminder.number, offsetDays: reminder.offsetDays });
      state.markReminderSent(reminder.number);
    }
    return undefined;
  }

  // The life of the invoice: wait for the next timer or a change, whichever comes first.
  for (;;) {
    if (state.hasEnded) break;
    if (historyIsLong()) {
      await condition(() => allHandlersFinished() && !busy);
      return continueAsNew<typeof InvoiceLifecycle>({ ...input, carried: { ...state.snapshot(), generation: s.generation + 1 } });
    }
    const timer = state.nextTimer(options);
    const seen = state.version;
    const woken = () => state.version !== seen || historyIsLong();
    if (!timer) {
      await condition(woken);
      continue;
    }
    if (await condition(woken, Math.max(timer.at - now(), 1))) continue;
    if ((await exclusive(() => fire(timer))) === 'closed') break;
  }
  await condition(() => allHandlersFinished() && !busy);
  return { invoiceId, status: s.status };
}
