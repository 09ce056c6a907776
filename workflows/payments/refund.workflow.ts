/**
 * RefundWorkflow: reserve the amount against the payment (refused past what was captured) -> refund at the
 * provider -> post the refund entry. If the provider refuses the refund, the reservation is released; an outage of
 * the provider is waited out (an attempt whose answer was lost may have paid the money back). A refusal
 * is a result (`rejected`, `failed`), not a failed execution.
 *
 * Cancelled from Temporal (Web UI, CLI) before the provider took the refund: the reservation is released and the
 * execution ends Canceled. Once the provider has paid the money back, the refund is booked whatever happens: a
 * cancellation is too late, and a database outage is waited out.
 */
import { ActivityFailure, ApplicationFailure, CancellationScope, CancelledFailure, isCancellation, log, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { RefundActivities, RefundRequest } from '../../activities/payments/refund.activities';
import { REFUND_FAILURES, type RefundResult } from './refund.contract';

export { REFUND_WORKFLOW_TYPE, refundWorkflowId, type RefundResult } from './refund.contract';

const bookkeeping = proxyActivities<RefundActivities>({
  startToCloseTimeout: '15 seconds',
  retry: { maximumInterval: '20 seconds', maximumAttempts: 10, nonRetryableErrorTypes: [REFUND_FAILURES.rejected] },
});
/**
 * The refund at the provider. Any attempt may have reached it and its answer been lost, so only the provider's refusal
 * ends the refund: an outage is waited out (no maximumAttempts), its retries repeating the same idempotency key.
 * Released after a lost answer, the reservation would let the same money be paid back a second time.
 */
const providerCall = proxyActivities<RefundActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: ['ProviderDeclined', 'ProviderInvalidRequest'] },
});
/** After the provider moved money, and the release of a reservation: the database only, retried as long as it is out. */
const untilDone = proxyActivities<RefundActivities>({ startToCloseTimeout: '15 seconds', retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' } });

export async function RefundWorkflow(request: RefundRequest): Promise<RefundResult> {
  const { refundId } = request;
  let reserved = false;
  try {
    // Each step runs to its end even if the workflow is cancelled meanwhile: abandoned, it could still move money.
    const { currency, providerRef } = await CancellationScope.nonCancellable(() => bookkeeping.reserveRefund(request));
    reserved = true;
    if (CancellationScope.current().consideredCancelled) throw new CancelledFailure('the refund workflow was cancelled');
    const providerRefundRef = await CancellationScope.nonCancellable(() => providerCall.refundAtProvider({ ...request, providerRef }));
    // The customer has the money back: the books must say so. The date is the workflow's, so a retried step posts
    // the very same entry ("already posted").
    const effectiveAt = new Date().toISOString();
    const ledgerEntryId = await CancellationScope.nonCancellable(() =>
      untilDone.postRefundEntry({ ...request, workflowId: workflowInfo().workflowId, currency, providerRefundRef, effectiveAt }),
    );
    return { refundId, status: 'succeeded', ledgerEntryId };
  } catch (err) {
    return await CancellationScope.nonCancellable(async () => {
      if (reserved) await untilDone.releaseRefundReservation(request);
      if (isCancellation(err)) throw err; // the execution ends Canceled, as asked, with nothing refunded
      if (!(err instanceof ActivityFailure)) throw err; // not foreseen: a defect
      if (!reserved && err.cause instanceof ApplicationFailure && err.cause.type === REFUND_FAILURES.rejected) {
        return { refundId, status: 'rejected', failure: { reason: REFUND_FAILURES.rejected, message: err.cause.message } };
      }
      log.info('refund failed', { refundId, paymentId: request.paymentId, activityType: err.activityType });
      const message = reserved ? 'the provider did not take the refund' : 'the refund could not be reserved';
      return { refundId, status: 'failed', failure: { reason: REFUND_FAILURES.providerFailed, message: `${message}: ${err.cause?.message ?? err.message}` } };
    });
  }
}
