/**
 * PaymentSaga: one durable execution per payment.
 *
 *   screen (risk/AML) -> [review by ops, or decline on timeout] -> authorise -> [wait for the customer to
 *   authenticate (3-D Secure, until a deadline) or the provider to settle: customer-action.ts] -> capture (now, or
 *   on request before the authorisation expires) -> post the ledger entry -> complete (status + payment.succeeded)
 *
 * Each forward step registers its compensation as soon as it succeeds; when a later step fails they run in
 * reverse (release or refund at the provider, reverse the entry), the payment is marked failed with
 * payment.failed, and the saga completes with a `failed` result and its reason: a decline is an outcome, not a
 * defect. The execution fails only on something it did not foresee, after the same compensations.
 *
 * Cancelled from Temporal (Web UI, CLI): the step under way finishes (the saga must know what it did), the
 * compensations and the final bookkeeping run shielded from the cancellation, and the execution ends Canceled with
 * the payment `canceled`. A compensation whose retries run out leaves the payment `needs_attention` for ops.
 * Once the provider holds the money, outages are retried for as long as they last: only a business refusal ends
 * the saga. Every activity is idempotent by the payment id and step.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { InvoiceDeliveryActivities, PaymentActivities } from '../../activities/payments';
import { AmountMinor, Currency, CustomerId, Status, TenantId } from '../../temporal-config/search-attributes';
import { isFailureOfType, type Compensation, runCompensations } from '../saga';
import { DEFAULT_CUSTOMER_ACTION_TIMEOUT_SECONDS, waitForCustomerOrProvider, WAITS_FOR_CUSTOMER_OR_PROVIDER } from './customer-action';
import {
  cancelPayment,
  capturePayment,
  PAYMENT_CANCELED,
  PAYMENT_FAILURES,
  SANDBOX_UNSUPPORTED_METHOD,
  paymentState,
  providerEvent,
  reviewPayment,
  type PaymentFailure,
  type PaymentInput,
  type PaymentResult,
  type PaymentState,
  type PaymentStatus,
  type ReviewDecision,
} from './payment.contract';

export type { PaymentResult } from './payment.contract';

const BUSINESS_FAILURES = ['ProviderDeclined', 'ProviderInvalidRequest', 'LedgerRejected'];
/** Steps that write the books: their failure is the ledger's, not the provider's. */
const LEDGER_STEPS = ['recordAuthorization', 'postPaymentEntry', 'completePayment'];

/** Before the provider holds any money: an outage that outlasts these retries fails the payment, at no cost. */
const beforeMoney = proxyActivities<PaymentActivities>({
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '500 ms', maximumInterval: '20 seconds', maximumAttempts: 10, nonRetryableErrorTypes: BUSINESS_FAILURES },
});
const providerCall = proxyActivities<PaymentActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 6, nonRetryableErrorTypes: BUSINESS_FAILURES },
});
/**
 * Once the provider holds or has taken the money, only a business refusal (decline, the ledger's refusal) may end
 * the saga: an outage of the database, the provider or anything else is retried for as long as it lasts, at most
 * a minute apart (no maximumAttempts).
 */
const moneyHeld = proxyActivities<PaymentActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: BUSINESS_FAILURES },
});
/** Compensations retry far longer than forward steps; one whose retries run out leaves the payment needing attention. */
const compensating = proxyActivities<PaymentActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '2 minutes', maximumAttempts: 50 },
});
/** A captured payment of an invoice reaches the invoice's workflow, however long Temporal or the database are out. */
const toInvoice = proxyActivities<InvoiceDeliveryActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});
/** Payments that name an invoice deliver themselves to it once they succeed (payments before this replay without). */
export const DELIVERS_PAYMENT_TO_INVOICE = 'payment-delivers-to-invoice';
/** The payment's final status and event: the database only, written however long an outage lasts. */
const finalBooks = proxyActivities<PaymentActivities>({
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

const NEXT_STEP: Record<PaymentStatus, string> = {
  screening: 'risk and AML screening',
  in_review: 'waiting for an ops review decision (reviewPayment update)',
  authorizing: 'authorising at the provider',
  requires_action: 'waiting for the customer to authenticate (3-D Secure) until the deadline, then expiring',
  processing: 'waiting for the provider to settle the payment (its webhook, or asking again every few hours)',
  authorized: 'waiting for capture (capturePayment update) or cancellation until the authorisation expires',
  capturing: 'capturing at the provider',
  posting: 'posting the ledger entry',
  succeeded: 'none: the payment is complete',
  failed: 'none: compensations have run',
  canceled: 'none: the authorisation was released or the charge refunded',
  expired: 'none: the authorisation expired and was released',
  needs_attention: 'ops: a compensation did not complete (see the payment.needs_attention event)',
};
const ENDED: PaymentStatus[] = ['succeeded', 'failed', 'canceled', 'expired', 'needs_attention'];

export async function PaymentSaga(input: PaymentInput): Promise<PaymentResult> {
  const { paymentId, tenantId } = input;
  const workflowId = workflowInfo().workflowId;
  const state: PaymentState = { status: 'screening', capturedMinor: 0 };
  let review: ReviewDecision | undefined;
  let captureRequested = false;
  let cancelRequested = false;
  let providerEvents = 0;

  const setStatus = (status: PaymentStatus) => {
    state.status = status;
    upsertSearchAttributes({ [Status.name]: [status] });
    // Shown in the Web UI; ids, amounts and states only, never personal or card data.
    setCurrentDetails(
      [`**Status:** ${status}${state.failureCode ? ` (${state.failureCode})` : ''}`, `**Amount:** ${input.amountMinor} ${input.currency} minor units`, `**Captured:** ${state.capturedMinor}`, `**Next:** ${NEXT_STEP[status]}`].join('\n\n'),
    );
  };
  setStatus('screening');
  upsertSearchAttributes({
    [TenantId.name]: [tenantId],
    [CustomerId.name]: [input.customerId],
    [AmountMinor.name]: [input.amountMinor],
    [Currency.name]: [input.currency],
    [Status.name]: ['screening'],
  });

  setHandler(paymentState, () => state);
  // The webhook route's wake-up call; the saga then asks the provider itself (customer-action.ts).
  setHandler(providerEvent, () => void (providerEvents += 1));
  setHandler(
    reviewPayment,
    async (decision) => {
      review = decision;
      await condition(() => state.status !== 'in_review');
      return state;
    },
    {
      validator: (decision) => {
        assertStatus(state, ['in_review'], 'reviewed');
        if (decision.decision !== 'approve' && decision.decision !== 'reject') throw new Error('decision must be approve or reject');
        if (!decision.reviewerId) throw new Error('a reviewer id is required');
      },
    },
  );
  setHandler(
    capturePayment,
    async () => {
      captureRequested = true;
      await condition(() => state.status !== 'authorized' && state.status !== 'capturing' && state.status !== 'posting');
      return state;
    },
    {
      validator: () => {
        assertStatus(state, ['authorized'], 'captured');
        // Its status stays `authorized` while a cancellation releases the authorisation: a capture then is refused,
        // not accepted and answered with the payment cancelled.
        if (cancelRequested) throw new Error('the payment is being cancelled; it cannot be captured now');
      },
    },
  );
  setHandler(
    cancelPayment,
    async () => {
      cancelRequested = true;
      await condition(() => ENDED.includes(state.status));
      return state;
    },
    {
      validator: () => {
        assertStatus(state, ['authorized', 'in_review', 'requires_action'], 'cancelled');
        // Asked for in the same breath as a capture the saga took first (both queued while no worker ran): the capture wins.
        if (captureRequested) throw new Error('the payment is being captured; it cannot be cancelled now (refund it once it has succeeded)');
      },
    },
  );

  const compensations: Compensation[] = [];
  /**
   * A forward step runs to its end even when the workflow is cancelled meanwhile (abandoned, it could still move
   * money or write the books behind the saga's back); its compensation is registered, then a pending cancellation
   * goes through.
   */
  async function step<T>(run: () => Promise<T>, compensation?: (result: T) => Compensation): Promise<T> {
    const result = await CancellationScope.nonCancellable(run);
    if (compensation) compensations.push(compensation(result));
    if (CancellationScope.current().consideredCancelled) throw new CancelledFailure('the payment workflow was cancelled');
    return result;
  }
  // Found by the payment id: an authorisation is cancelled, a charge refunded, whatever step the saga stopped at.
  const undoAtProvider: Compensation = { name: 'release or refund at the provider', run: () => compensating.undoAtProvider({ tenantId, paymentId }) };

  try {
    // 1. Risk and AML screening.
    const screening = await step(() => beforeMoney.screenPayment(input));
    if (screening.decision === 'reject') {
      throw ApplicationFailure.nonRetryable(`risk screening rejected the payment: ${screening.reasons.join(', ')}`, PAYMENT_FAILURES.riskRejected);
    }
    if (screening.decision === 'review') {
      setStatus('in_review');
      await step(() => beforeMoney.markPaymentStatus({ tenantId, paymentId, status: 'in_review' }));
      const decided = await condition(() => review !== undefined || cancelRequested, input.reviewTimeoutSeconds * 1000);
      if (cancelRequested) return await finishWithout('canceled');
      if (!decided) throw ApplicationFailure.nonRetryable('no review decision before the deadline', PAYMENT_FAILURES.reviewTimedOut);
      if (review!.decision === 'reject') throw ApplicationFailure.nonRetryable('rejected in review', PAYMENT_FAILURES.reviewRejected);
    }

    // 2. Authorise at the provider (an automatic-capture intent takes the money at once).
    setStatus('authorizing');
    const eventsBeforeAuthorize = providerEvents;
    let authorized = await step(
      () =>
        providerCall.authorizePayment(input).catch((err: unknown) => {
          // Unless the provider said no, it may have authorised or charged without the answer reaching us.
          if (!isBusinessRefusal(err)) compensations.push(undoAtProvider);
          throw err;
        }),
      () => undoAtProvider,
    );
    // The customer must authenticate, or the provider settles later: wait for it (payments started before this wait
    // existed replay without it).
    if (patched(WAITS_FOR_CUSTOMER_OR_PROVIDER)) {
      const providerRef = authorized.providerRef;
      const waited = await waitForCustomerOrProvider(authorized, {
        customerActionTimeoutSeconds: input.customerActionTimeoutSeconds ?? DEFAULT_CUSTOMER_ACTION_TIMEOUT_SECONDS,
        providerEvents: () => providerEvents,
        providerEventsBeforeFirstRead: eventsBeforeAuthorize,
        cancelRequested: () => cancelRequested,
        showStatus: setStatus,
        check: () => step(() => moneyHeld.checkAuthorization({ tenantId, paymentId, providerRef })),
      });
      if ('stopped' in waited) return await finishWithout(waited.stopped, waited.stopped === 'expired' ? 'customer_action_expired' : undefined);
      authorized = waited.intent;
    }
    state.providerRef = authorized.providerRef;
    const awaitingCapture = input.captureMethod === 'manual' && authorized.status === 'requires_capture';
    // Accept capture before anyone can read "authorized" from the database.
    if (awaitingCapture) setStatus('authorized');
    await step(() => moneyHeld.recordAuthorization({ tenantId, paymentId, providerRef: authorized.providerRef, authorizationTtlSeconds: input.authorizationTtlSeconds }));

    // 3. Capture: at once, or when the client asks before the authorisation expires.
    if (awaitingCapture) {
      const asked = await condition(() => captureRequested || cancelRequested, input.authorizationTtlSeconds * 1000);
      if (!asked || cancelRequested) return await finishWithout(asked ? 'canceled' : 'expired');
    }
    setStatus('capturing');
    const captured = await step(() => moneyHeld.captureCharge({ tenantId, paymentId, providerRef: authorized.providerRef }));
    state.capturedMinor = captured.amountCapturedMinor;

    // 4. Post the ledger entry: the saga is the ledger's only writer for payments.
    setStatus('posting');
    // Dates for the books are the workflow's (replayed, so identical on every retry of the step).
    const effectiveAt = new Date().toISOString();
    const entryId = await step(
      () => moneyHeld.postPaymentEntry({ tenantId, paymentId, workflowId, amountMinor: captured.amountCapturedMinor, currency: input.currency, effectiveAt, invoiceRef: input.invoiceRef }),
      (entryId) => ({
        name: 'reverse the ledger entry',
        run: () => compensating.reversePaymentEntry({ tenantId, paymentId, workflowId, entryId, effectiveAt: new Date().toISOString() }),
      }),
    );

    // 5. Complete: status, hold captured and payment.succeeded, in one transaction. Done is done: a cancellation
    // arriving meanwhile no longer undoes the payment (a refund does).
    await CancellationScope.nonCancellable(() => moneyHeld.completePayment({ tenantId, paymentId, entryId, amountCapturedMinor: captured.amountCapturedMinor }));
    setStatus('succeeded');
    if (input.invoiceRef && patched(DELIVERS_PAYMENT_TO_INVOICE)) {
      const invoiceRef = input.invoiceRef;
      await CancellationScope.nonCancellable(() => toInvoice.deliverPaymentToInvoice({ tenantId, paymentId, invoiceRef, amountMinor: captured.amountCapturedMinor, currency: input.currency }));
    }
    return { paymentId, status: 'succeeded', ledgerEntryId: entryId };
  } catch (err) {
    return await CancellationScope.nonCancellable(() => unwind(err));
  }

  async function unwind(err: unknown): Promise<PaymentResult> {
    const unresolved = await runCompensations(compensations);
    if (isCancellation(err)) {
      if (unresolved.length) await needsAttention(PAYMENT_CANCELED, unresolved);
      else await close('canceled');
      log.info('payment cancelled', { paymentId, status: state.status });
      throw err; // the execution ends Canceled, as asked
    }
    const failure = classifyFailure(err);
    const failureCode = failure?.reason ?? 'PaymentFailed';
    if (unresolved.length) {
      const result = await needsAttention(failureCode, unresolved, failure);
      if (!failure) throw err;
      return result;
    }
    state.failureCode = failureCode;
    setStatus('failed');
    await finalBooks.failPayment({ tenantId, paymentId, failureCode });
    // Not foreseen: a defect, so the execution fails (the money has been made right first).
    if (!failure) throw err;
    log.info('payment failed', { paymentId, failureCode });
    return { paymentId, status: 'failed', failure };
  }

  /**
   * Cancelled on request, or expired (uncaptured; or the customer never authenticated: `failureCode`): the
   * authorisation is released or the intent cancelled, nothing was charged.
   */
  function finishWithout(status: 'canceled' | 'expired', failureCode?: string): Promise<PaymentResult> {
    return CancellationScope.nonCancellable(async () => {
      const unresolved = await runCompensations(compensations);
      if (unresolved.length) return needsAttention(failureCode ?? (status === 'expired' ? 'authorization_expired' : PAYMENT_CANCELED), unresolved);
      await close(status, failureCode);
      return { paymentId, status };
    });
  }

  async function close(status: 'canceled' | 'expired', failureCode?: string) {
    await finalBooks.closePaymentWithoutCapture({ tenantId, paymentId, status, ...(failureCode ? { failureCode } : {}) });
    setStatus(status);
  }

  async function needsAttention(failureCode: string, unresolved: string[], failure?: PaymentFailure): Promise<PaymentResult> {
    state.failureCode = failureCode;
    setStatus('needs_attention');
    await finalBooks.flagPaymentForAttention({ tenantId, paymentId, failureCode, unresolved });
    log.error('payment needs attention: compensations did not complete', { paymentId, failureCode, unresolved });
    return { paymentId, status: 'needs_attention', unresolved, ...(failure ? { failure } : {}) };
  }
}

function assertStatus(state: PaymentState, allowed: PaymentStatus[], verb: string) {
  if (!allowed.includes(state.status)) throw new Error(`the payment is ${state.status}; it cannot be ${verb} now`);
}

function isBusinessRefusal(err: unknown): boolean {
  return err instanceof ActivityFailure && BUSINESS_FAILURES.some((type) => isFailureOfType(err, type));
}

/** Why the payment did not go through, with the provider's or ledger's failure behind it; undefined if not foreseen. */
function classifyFailure(err: unknown): PaymentFailure | undefined {
  if (err instanceof ApplicationFailure && Object.values(PAYMENT_FAILURES).includes(err.type as never)) return { reason: err.type as PaymentFailure['reason'], message: err.message };
  if (!(err instanceof ActivityFailure)) return undefined;
  const inner = err.cause;
  const cause = { activityType: err.activityType, type: inner instanceof ApplicationFailure ? (inner.type ?? undefined) : inner?.name, message: inner?.message ?? err.message, retryState: err.retryState };
  if (isFailureOfType(err, 'ProviderDeclined')) return { reason: PAYMENT_FAILURES.declined, message: 'the card was declined', cause };
  if (isFailureOfType(err, 'ProviderInvalidRequest') && inner instanceof ApplicationFailure && inner.details?.[0] === SANDBOX_UNSUPPORTED_METHOD) {
    return { reason: PAYMENT_FAILURES.methodNotSupportedBySandbox, message: 'the local sandbox does not play this payment method', cause };
  }
  if (isFailureOfType(err, 'ProviderInvalidRequest')) return { reason: PAYMENT_FAILURES.declined, message: 'the provider refused the payment', cause };
  if (isFailureOfType(err, 'ProviderUnexpectedAnswer')) return { reason: PAYMENT_FAILURES.providerUnavailable, message: 'the provider answered what the adapter does not know', cause };
  if (LEDGER_STEPS.includes(err.activityType)) return { reason: PAYMENT_FAILURES.ledgerFailed, message: 'the ledger could not record the payment', cause };
  return { reason: PAYMENT_FAILURES.providerUnavailable, message: 'the payment provider did not answer in time', cause };
}
