/** PaymentSaga's contract, shared by the workflow, the API and the tests. Side-effect free. */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { Currency } from '../../core/money';

export const PAYMENT_WORKFLOW_TYPE = 'PaymentSaga';
export const paymentWorkflowId = (tenantId: string, paymentId: string) => `payment:${tenantId}:${paymentId}`;

/**
 * The Kafka key of a payment's events: the invoice it pays, so they share a partition with the invoice's own events
 * and arrive in order with them; a payment of no invoice is keyed by itself.
 */
export const paymentPartitionKey = (p: { paymentId: string; invoiceRef?: string | null }): string => p.invoiceRef ?? p.paymentId;

export interface PaymentInput {
  paymentId: string;
  tenantId: string;
  customerId: string;
  amountMinor: number;
  currency: Currency;
  paymentMethod: string;
  captureMethod: 'automatic' | 'manual';
  invoiceRef?: string;
  /** From config at start, so the workflow stays deterministic. */
  reviewTimeoutSeconds: number;
  authorizationTtlSeconds: number;
}

export type PaymentStatus = 'screening' | 'in_review' | 'authorizing' | 'authorized' | 'capturing' | 'posting' | 'succeeded' | 'failed' | 'canceled' | 'expired';

export interface PaymentState {
  status: PaymentStatus;
  failureCode?: string;
  providerRef?: string;
  capturedMinor: number;
}

/** Failure types of a payment that did not go through (ApplicationFailure.type). */
export const PAYMENT_FAILURES = {
  declined: 'PaymentDeclined',
  riskRejected: 'PaymentRiskRejected',
  reviewRejected: 'PaymentReviewRejected',
  reviewTimedOut: 'PaymentReviewTimedOut',
  providerUnavailable: 'PaymentProviderUnavailable',
  ledgerFailed: 'PaymentLedgerFailed',
} as const;

export interface ReviewDecision {
  decision: 'approve' | 'reject';
  reviewerId: string;
}

export const paymentState = defineQuery<PaymentState>('paymentState');
/** ops: approve or reject a payment held for review. Valid only while it is in review. */
export const reviewPayment = defineUpdate<PaymentState, [ReviewDecision]>('reviewPayment');
/** Captures a manual-capture payment. Valid only while it is authorised. */
export const capturePayment = defineUpdate<PaymentState, []>('capturePayment');
/** Cancels a payment that is authorised (releasing the authorisation) or in review. */
export const cancelPayment = defineUpdate<PaymentState, []>('cancelPayment');
