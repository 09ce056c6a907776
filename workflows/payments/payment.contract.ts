/** PaymentSaga's contract, shared by the workflow, the API and the tests. Side-effect free. */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
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
  /** How long the customer has to authenticate (3-D Secure). Absent from payments started before it existed: an hour. */
  customerActionTimeoutSeconds?: number;
}

export type PaymentStatus =
  | 'screening'
  | 'in_review'
  | 'authorizing'
  | 'requires_action'
  | 'processing'
  | 'authorized'
  | 'capturing'
  | 'posting'
  | 'succeeded'
  | 'failed'
  | 'canceled'
  | 'expired'
  | 'needs_attention';

export interface PaymentState {
  status: PaymentStatus;
  failureCode?: string;
  providerRef?: string;
  capturedMinor: number;
}

/**
 * Why a payment did not go through: the reason code of a `failed` result (and the payment's failure_code). These are
 * outcomes, not defects: the saga completes with them. Its execution fails only on something it did not foresee.
 */
export const PAYMENT_FAILURES = {
  declined: 'PaymentDeclined',
  riskRejected: 'PaymentRiskRejected',
  reviewRejected: 'PaymentReviewRejected',
  reviewTimedOut: 'PaymentReviewTimedOut',
  providerUnavailable: 'PaymentProviderUnavailable',
  ledgerFailed: 'PaymentLedgerFailed',
  /** Locally only: a Stripe test card the sandbox does not play (3-D Secure); the tests' Stripe double and Stripe test mode do. */
  methodNotSupportedBySandbox: 'PaymentMethodNotSupportedBySandbox',
} as const;

/** The provider's code (ProviderInvalidRequest) for a test card the local sandbox does not play. */
export const SANDBOX_UNSUPPORTED_METHOD = 'payment_method_not_supported_by_sandbox';
export type PaymentFailureReason = (typeof PAYMENT_FAILURES)[keyof typeof PAYMENT_FAILURES];

/** The failure code of a payment cancelled from Temporal (Web UI, CLI: a workflow cancellation). */
export const PAYMENT_CANCELED = 'canceled';

/** What went wrong, for ops and tests: the reason, and the provider's or ledger's refusal behind it, if any. */
export interface PaymentFailure {
  reason: PaymentFailureReason;
  message: string;
  cause?: { activityType: string; type?: string; message: string; retryState?: string };
}

/**
 * How a payment ended. `needs_attention`: a compensation did not complete (its retries ran out), so money may still
 * be held or charged at the provider, or an entry left in the books; ops must finish `unresolved` by hand.
 */
export interface PaymentResult {
  paymentId: string;
  status: 'succeeded' | 'failed' | 'canceled' | 'expired' | 'needs_attention';
  ledgerEntryId?: string;
  failure?: PaymentFailure;
  unresolved?: string[];
}

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

/**
 * A provider event about the payment's intent (a Stripe webhook the API has verified, e.g. payment_intent.succeeded):
 * it wakes a saga waiting for the customer or the provider, which then asks the provider where the intent stands.
 * Ids and the event type only: no payload, no client secret.
 */
export interface ProviderEventNotice {
  eventId: string;
  type: string;
}
export const providerEvent = defineSignal<[ProviderEventNotice]>('providerEvent');
/** The Stripe events delivered to a running saga as `providerEvent`. */
export const INTENT_EVENTS = [
  'payment_intent.succeeded',
  'payment_intent.payment_failed',
  'payment_intent.amount_capturable_updated',
  'payment_intent.processing',
  'payment_intent.requires_action',
  'payment_intent.canceled',
] as const;
