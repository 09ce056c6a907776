/** RefundWorkflow's contract, shared by the workflow, the API and the tests. Side-effect free. */

export const REFUND_WORKFLOW_TYPE = 'RefundWorkflow';
export const refundWorkflowId = (tenantId: string, refundId: string) => `refund:${tenantId}:${refundId}`;

/** Why a refund did not happen: the reason code of its result. Outcomes, not defects: the workflow completes with them. */
export const REFUND_FAILURES = {
  /** More than is left to refund on the payment (or no such payment): nothing was reserved. */
  rejected: 'RefundRejected',
  /** The provider refused or never took the refund (the reservation was released), or nothing could be reserved. */
  providerFailed: 'RefundFailed',
} as const;
export type RefundFailureReason = (typeof REFUND_FAILURES)[keyof typeof REFUND_FAILURES];

export interface RefundResult {
  refundId: string;
  status: 'succeeded' | 'rejected' | 'failed';
  ledgerEntryId?: string;
  failure?: { reason: RefundFailureReason; message: string };
}
