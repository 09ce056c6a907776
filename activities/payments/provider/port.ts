/**
 * The payment provider port. Every money-moving call carries an idempotency key derived from the payment id and
 * the step, so a retried activity repeats the same request instead of making a new one.
 */
import type { Currency } from '../../../core/money';

export type IntentStatus = 'requires_capture' | 'succeeded' | 'canceled';

export interface ProviderIntent {
  providerRef: string;
  status: IntentStatus;
  amountMinor: number;
  amountCapturedMinor: number;
  amountRefundedMinor: number;
  currency: Currency;
}

export interface AuthorizeInput {
  paymentId: string;
  amountMinor: number;
  currency: Currency;
  paymentMethod: string;
  captureMethod: 'automatic' | 'manual';
  idempotencyKey: string;
}

export interface PaymentProvider {
  readonly name: string;
  /** Looks a payment's intent up by the payment id in its metadata (idempotency keys expire after 24 h). */
  findIntent(paymentId: string): Promise<ProviderIntent | undefined>;
  authorize(input: AuthorizeInput): Promise<ProviderIntent>;
  capture(input: { paymentId: string; providerRef: string; idempotencyKey: string }): Promise<ProviderIntent>;
  cancel(input: { paymentId: string; providerRef: string; idempotencyKey: string }): Promise<ProviderIntent>;
  refund(input: { paymentId: string; providerRef: string; refundId: string; amountMinor: number; idempotencyKey: string }): Promise<{ refundRef: string }>;
}

/** Failure types as strings: workflows list them in nonRetryableErrorTypes (STYLE: by constant, not class). */
export const PROVIDER_DECLINED = 'ProviderDeclined';
export const PROVIDER_INVALID_REQUEST = 'ProviderInvalidRequest';
export const PROVIDER_UNAVAILABLE = 'ProviderUnavailable';

export class ProviderError extends Error {
  constructor(
    readonly type: typeof PROVIDER_DECLINED | typeof PROVIDER_INVALID_REQUEST | typeof PROVIDER_UNAVAILABLE,
    message: string,
    /** e.g. Stripe's decline_code: safe to show (no card data). */
    readonly code?: string,
  ) {
    super(message);
    this.name = type;
  }
}
