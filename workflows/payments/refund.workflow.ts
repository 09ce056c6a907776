/**
 * RefundWorkflow: reserve the amount against the payment (refused past what was captured) -> refund at the
 * provider -> post the refund entry. If the provider never takes the refund, the reservation is released.
 */
import { ApplicationFailure, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { RefundActivities, RefundRequest } from '../../activities/payments/refund.activities';

export const REFUND_WORKFLOW_TYPE = 'RefundWorkflow';
export const refundWorkflowId = (tenantId: string, refundId: string) => `refund:${tenantId}:${refundId}`;

const bookkeeping = proxyActivities<RefundActivities>({
  startToCloseTimeout: '15 seconds',
  retry: { maximumInterval: '20 seconds', maximumAttempts: 10, nonRetryableErrorTypes: ['RefundRejected'] },
});
const providerCall = proxyActivities<RefundActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 6, nonRetryableErrorTypes: ['ProviderDeclined', 'ProviderInvalidRequest'] },
});
const compensating = proxyActivities<RefundActivities>({ startToCloseTimeout: '15 seconds', retry: { maximumInterval: '2 minutes', maximumAttempts: 50 } });

export interface RefundResult {
  refundId: string;
  status: 'succeeded';
  ledgerEntryId: string;
}

export async function RefundWorkflow(request: RefundRequest): Promise<RefundResult> {
  const { currency, providerRef } = await bookkeeping.reserveRefund(request);
  let providerRefundRef: string;
  try {
    providerRefundRef = await providerCall.refundAtProvider({ ...request, providerRef });
  } catch (err) {
    await compensating.releaseRefundReservation(request);
    throw ApplicationFailure.create({ type: 'RefundFailed', message: 'the provider did not take the refund', nonRetryable: true, cause: err as Error });
  }
  // The books' date is the workflow's, so a retried step posts the very same entry ("already posted").
  const effectiveAt = new Date().toISOString();
  const ledgerEntryId = await bookkeeping.postRefundEntry({ ...request, workflowId: workflowInfo().workflowId, currency, providerRefundRef, effectiveAt });
  return { refundId: request.refundId, status: 'succeeded', ledgerEntryId };
}
