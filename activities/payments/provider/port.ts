/**
 * The payment provider port. Every money-moving call carries an idempotency key derived from the payment id and
 * the step, so a retried activity repeats the same request instead of making a new one.
 *
 * An intent is created unconfirmed, its id is stored on the payment row, and from then on it is found by that id
 * (`retrieve`), never by a search: a provider's search index may lag behind its writes (Stripe's by about a minute).
 */
import type { Currency } from '../../../core/money';

/** Stripe's PaymentIntent statuses, every one of them: a status outside this list is an error, never a success. */
export const INTENT_STATUSES = [
  'requires_payment_method',
  'requires_confirmation',
  'requires_action',
  'processing',
  'requires_capture',
  'canceled',
  'succeeded',
] as const;
export type IntentStatus = (typeof INTENT_STATUSES)[number];

/**
 * What the customer must do before the provider can go on (3-D Secure): Stripe's next_action type, the client
 * secret Stripe.js needs to run it, and the page to send the customer to when it is a redirect. For the caller
 * only: never in logs, events, search attributes or workflow history.
 */
export interface NextAction {
  type: string;
  clientSecret: string;
  redirectUrl?: string;
}

export interface ProviderIntent {
  providerRef: string;
  status: IntentStatus;
  amountMinor: number;
  amountCapturedMinor: number;
  amountRefundedMinor: number;
  currency: Currency;
  /** Only while `requires_action`. */
  nextAction?: NextAction;
  /** Why the last attempt failed (a decline code), when the provider says so: safe to show, no card data. */
  lastFailureCode?: string;
}

export interface CreateIntentInput {
  paymentId: string;
  amountMinor: number;
  currency: Currency;
  paymentMethod: string;
  captureMethod: 'automatic' | 'manual';
  idempotencyKey: string;
}

export interface IntentRef {
  paymentId: string;
  providerRef: string;
}

export interface PaymentProvider {
  readonly name: string;
  /** Creates the payment's intent, unconfirmed: nothing is authorised yet. The same key answers the same intent. */
  createIntent(input: CreateIntentInput): Promise<ProviderIntent>;
  /**
   * Confirms the intent: the authorisation (with automatic capture, the charge). The answer may also be
   * `requires_action` (the customer must authenticate) or `processing` (the outcome comes later, by webhook).
   */
  authorize(input: IntentRef & { idempotencyKey: string }): Promise<ProviderIntent>;
  /** The intent as the provider holds it now, by its id. */
  retrieve(input: IntentRef): Promise<ProviderIntent>;
  capture(input: IntentRef & { idempotencyKey: string }): Promise<ProviderIntent>;
  cancel(input: IntentRef & { idempotencyKey: string }): Promise<ProviderIntent>;
  refund(input: IntentRef & { refundId: string; amountMinor: number; idempotencyKey: string }): Promise<{ refundRef: string }>;
}

/** Failure types as strings: workflows list them in nonRetryableErrorTypes (STYLE: by constant, not class). */
export const PROVIDER_DECLINED = 'ProviderDeclined';
export const PROVIDER_INVALID_REQUEST = 'ProviderInvalidRequest';
export const PROVIDER_UNAVAILABLE = 'ProviderUnavailable';
/** The provider answered with something this adapter does not know (an intent status, say): not retried, never success. */
export const PROVIDER_UNEXPECTED = 'ProviderUnexpectedAnswer';

export type ProviderErrorType = typeof PROVIDER_DECLINED | typeof PROVIDER_INVALID_REQUEST | typeof PROVIDER_UNAVAILABLE | typeof PROVIDER_UNEXPECTED;

export class ProviderError extends Error {
  constructor(
    readonly type: ProviderErrorType,
    message: string,
    /** e.g. Stripe's decline_code: safe to show (no card data). */
    readonly code?: string,
  ) {
    super(message);
    this.name = type;
  }
}

/** Stripe's error code for a call the intent's current status does not allow (capturing a succeeded intent...). */
export const UNEXPECTED_STATE = 'payment_intent_unexpected_state';
