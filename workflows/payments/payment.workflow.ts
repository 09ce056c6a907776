/**
 * PaymentSaga: one durable execution per payment.
 *
 *   screen (risk/AML) -> [review by ops, or decline on timeout] -> authorise -> capture (now, or on request
 *   before the authorisation expires) -> post the ledger entry -> complete (status + payment.succeeded)
 *
 * Each forward step registers its compensation as soon as it succeeds; when a later step fails they run in
 * reverse (refund or release at the provider, reverse the entry), the payment is marked failed with
 * payment.failed, and the original error is rethrown. Every activity is idempotent by the payment id and step.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { PaymentActivities } from '../../activities/payments';
import { AmountMinor, Currency, CustomerId, Status, TenantId } from '../../temporal-config/search-attributes';
import { isFailureOfType, type Compensation, runCompensations } from '../saga';
import {
  cancelPayment,
  capturePayment,
  PAYMENT_FAILURES,
  paymentState,
  reviewPayment,
  type PaymentInput,
  type PaymentState,
  type PaymentStatus,
  type ReviewDecision,
} from './payment.contract';

const BUSINESS_FAILURES = ['ProviderDeclined', 'ProviderInvalidRequest', 'LedgerRejected'];
/** Steps that write the books: their failure is the ledger's, not the provider's. */
const LEDGER_STEPS = ['recordAuthorization', 'postPaymentEntry', 'completePayment'];

const providerCall = proxyActivities<PaymentActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 6, nonRetryableErrorTypes: BUSINESS_FAILURES },
});
const bookkeeping = proxyActivities<PaymentActivities>({
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '500 ms', maximumInterval: '20 seconds', maximumAttempts: 10, nonRetryableErrorTypes: BUSINESS_FAILURES },
});
/** Compensations must end up done: they retry far longer than forward steps. */
const compensating = proxyActivities<PaymentActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '2 minutes', maximumAttempts: 50 },
});

const NEXT_STEP: Record<PaymentStatus, string> = {
  screening: 'risk and AML screening',
  in_review: 'waiting for an ops review decision (reviewPayment update)',
  authorizing: 'authorising at the provider',
  authorized: 'waiting for capture (capturePayment update) or cancellation until the authorisation expires',
  capturing: 'capturing at the provider',
  posting: 'posting the ledger entry',
  succeeded: 'none: the payment is complete',
  failed: 'none: compensations have run',
  canceled: 'none: the authorisation was released',
  expired: 'none: the authorisation expired and was released',
};

export interface PaymentResult {
  paymentId: string;
  status: 'succeeded' | 'canceled' | 'expired';
  ledgerEntryId?: string;
}

export async function PaymentSaga(input: PaymentInput): Promise<PaymentResult> {
  const { paymentId, tenantId } = input;
  const workflowId = workflowInfo().workflowId;
  const state: PaymentState = { status: 'screening', capturedMinor: 0 };
  let review: ReviewDecision | undefined;
  let captureRequested = false;
  let cancelRequested = false;

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
    { validator: () => assertStatus(state, ['authorized'], 'captured') },
  );
  setHandler(
    cancelPayment,
    async () => {
      cancelRequested = true;
      await condition(() => state.status === 'canceled' || state.status === 'failed' || state.status === 'succeeded');
      return state;
    },
    { validator: () => assertStatus(state, ['authorized', 'in_review'], 'cancelled') },
  );

  const compensations: Compensation[] = [];
  try {
    // 1. Risk and AML screening.
    const screening = await bookkeeping.screenPayment(input);
    if (screening.decision === 'reject') {
      throw ApplicationFailure.nonRetryable(`risk screening rejected the payment: ${screening.reasons.join(', ')}`, PAYMENT_FAILURES.riskRejected);
    }
    if (screening.decision === 'review') {
      setStatus('in_review');
      await bookkeeping.markPaymentStatus({ tenantId, paymentId, status: 'in_review' });
      const decided = await condition(() => review !== undefined || cancelRequested, input.reviewTimeoutSeconds * 1000);
      if (cancelRequested) return await finishWithout('canceled');
      if (!decided) throw ApplicationFailure.nonRetryable('no review decision before the deadline', PAYMENT_FAILURES.reviewTimedOut);
      if (review!.decision === 'reject') throw ApplicationFailure.nonRetryable('rejected in review', PAYMENT_FAILURES.reviewRejected);
    }

    // 2. Authorise at the provider.
    setStatus('authorizing');
    const authorized = await providerCall.authorizePayment(input);
    state.providerRef = authorized.providerRef;
    // An automatic-capture intent has taken the money already: undoing it is a refund, not a release.
    const releaseAuthorization: Compensation =
      authorized.status === 'succeeded'
        ? { name: 'refund the charge', run: () => compensating.refundCharge({ tenantId, paymentId, providerRef: authorized.providerRef, amountMinor: authorized.amountCapturedMinor }) }
        : { name: 'release authorisation', run: () => compensating.releaseAuthorization({ tenantId, paymentId }) };
    compensations.push(releaseAuthorization);
    const awaitingCapture = input.captureMethod === 'manual' && authorized.status === 'requires_capture';
    // Accept capture before anyone can read "authorized" from the database.
    if (awaitingCapture) setStatus('authorized');
    await bookkeeping.recordAuthorization({ tenantId, paymentId, providerRef: authorized.providerRef, authorizationTtlSeconds: input.authorizationTtlSeconds });

    // 3. Capture: at once, or when the client asks before the authorisation expires.
    if (awaitingCapture) {
      const asked = await condition(() => captureRequested || cancelRequested, input.authorizationTtlSeconds * 1000);
      if (!asked || cancelRequested) {
        await compensating.releaseAuthorization({ tenantId, paymentId, holdOutcome: asked ? 'released' : 'expired' });
        return await finishWithout(asked ? 'canceled' : 'expired');
      }
    }
    setStatus('capturing');
    const captured = await providerCall.captureCharge({ tenantId, paymentId, providerRef: authorized.providerRef });
    state.capturedMinor = captured.amountCapturedMinor;
    compensations.splice(compensations.indexOf(releaseAuthorization), 1, {
      name: 'refund the charge',
      run: () => compensating.refundCharge({ tenantId, paymentId, providerRef: authorized.providerRef, amountMinor: captured.amountCapturedMinor }),
    });

    // 4. Post the ledger entry: the saga is the ledger's only writer for payments.
    setStatus('posting');
    // Dates for the books are the workflow's (replayed, so identical on every retry of the step).
    const effectiveAt = new Date().toISOString();
    const entryId = await bookkeeping.postPaymentEntry({ tenantId, paymentId, workflowId, amountMinor: captured.amountCapturedMinor, currency: input.currency, effectiveAt, invoiceRef: input.invoiceRef });
    compensations.push({
      name: 'reverse the ledger entry',
      run: () => compensating.reversePaymentEntry({ tenantId, paymentId, workflowId, entryId, effectiveAt: new Date().toISOString() }),
    });

    // 5. Complete: status, hold captured and payment.succeeded, in one transaction.
    await bookkeeping.completePayment({ tenantId, paymentId, entryId, amountCapturedMinor: captured.amountCapturedMinor });
    setStatus('succeeded');
    return { paymentId, status: 'succeeded', ledgerEntryId: entryId };
  } catch (err) {
    const failure = classifyFailure(err);
    await runCompensations(compensations);
    state.failureCode = failure.code;
    setStatus('failed');
    await compensating.failPayment({ tenantId, paymentId, failureCode: failure.code });
    log.warn('payment failed', { paymentId, failureCode: failure.code });
    throw failure.error;
  }

  async function finishWithout(status: 'canceled' | 'expired'): Promise<PaymentResult> {
    await compensating.closePaymentWithoutCapture({ tenantId, paymentId, status });
    setStatus(status);
    return { paymentId, status };
  }
}

function assertStatus(state: PaymentState, allowed: PaymentStatus[], verb: string) {
  if (!allowed.includes(state.status)) throw new Error(`the payment is ${state.status}; it cannot be ${verb} now`);
}

/** Maps what went wrong to the payment's failure type; the original failure stays attached as the cause. */
function classifyFailure(err: unknown): { code: string; error: unknown } {
  if (err instanceof ApplicationFailure && Object.values(PAYMENT_FAILURES).includes(err.type as never)) return { code: err.type!, error: err };
  if (err instanceof ActivityFailure) {
    const wrap = (type: string, message: string) => ({ code: type, error: ApplicationFailure.create({ type, message, nonRetryable: true, cause: err }) });
    if (isFailureOfType(err, 'ProviderDeclined')) return wrap(PAYMENT_FAILURES.declined, 'the card was declined');
    if (isFailureOfType(err, 'ProviderInvalidRequest')) return wrap(PAYMENT_FAILURES.declined, 'the provider refused the payment');
    if (LEDGER_STEPS.includes(err.activityType)) return wrap(PAYMENT_FAILURES.ledgerFailed, 'the ledger could not record the payment');
    return wrap(PAYMENT_FAILURES.providerUnavailable, 'the payment provider did not answer in time');
  }
  return { code: 'PaymentFailed', error: err };
}
