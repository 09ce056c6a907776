/**
 * The Stripe adapter, on the official SDK: PaymentIntents created unconfirmed, then confirmed, captured (manual
 * capture), cancelled and refunded, each found by its id. Never Stripe Search: its index lags writes by up to
 * about a minute, so a lookup right after a create would miss the intent. Every status Stripe documents is mapped;
 * one it does not is an error, not a success. Errors are classified: declines and invalid requests are business
 * failures (not retried); connection errors, 5xx, 429 and lock timeouts are retried by Temporal with backoff.
 */
import Stripe from 'stripe';
import type { Currency } from '../../../core/money';
import {
  INTENT_STATUSES,
  ProviderError,
  PROVIDER_DECLINED,
  PROVIDER_INVALID_REQUEST,
  PROVIDER_UNAVAILABLE,
  PROVIDER_UNEXPECTED,
  type IntentStatus,
  type PaymentProvider,
  type ProviderIntent,
} from './port';

export const PAYMENT_ID_METADATA = 'finflow_payment_id';
/** The charge's refunded total comes with the intent, so a compensation refunds only what is left. */
const EXPAND = ['latest_charge'];

/**
 * Where Stripe's API unit differs from the ISO 4217 minor unit FinFlow keeps (core/money): ISK has no minor unit in
 * ISO 4217, but Stripe's API keeps it two-decimal ("an ISK amount of 100 represents 1 króna", amounts multiples of
 * 100). Zero-decimal (JPY, KRW, ...) and three-decimal (KWD, ...) currencies agree with ISO 4217.
 */
const STRIPE_UNITS_PER_MINOR: Readonly<Record<string, number>> = { ISK: 100 };
const unitsPerMinor = (currency: string) => STRIPE_UNITS_PER_MINOR[currency.toUpperCase()] ?? 1;

/** FinFlow's minor units as Stripe's API counts them. */
export function toStripeAmount(amountMinor: number, currency: string): number {
  const amount = amountMinor * unitsPerMinor(currency);
  if (!Number.isSafeInteger(amount)) throw new ProviderError(PROVIDER_INVALID_REQUEST, `The amount is too large for Stripe in ${currency.toUpperCase()}`);
  return amount;
}

/** An amount Stripe's API states, in FinFlow's minor units; one that is not a whole number of them is unexpected, never rounded. */
export function fromStripeAmount(amount: number, currency: string): number {
  const minor = amount / unitsPerMinor(currency);
  if (!Number.isSafeInteger(minor)) throw new ProviderError(PROVIDER_UNEXPECTED, `Stripe stated ${amount} in ${currency.toUpperCase()}, not a whole number of its minor units`);
  return minor;
}

/** A client for Stripe at `url` (stripe-mock, or a test's Stripe double); stripe-mock accepts any test key. */
export function stripeClientAt(url: string, apiKey = 'sk_test_123'): Stripe {
  const u = new URL(url);
  return new Stripe(apiKey, { host: u.hostname, port: Number(u.port), protocol: u.protocol.replace(':', '') as 'http', maxNetworkRetries: 0, timeout: 10_000 });
}

export function stripeClient(opts: { apiKey?: string; mockUrl: string }): Stripe {
  if (opts.apiKey) return new Stripe(opts.apiKey, { maxNetworkRetries: 0, timeout: 20_000 });
  return stripeClientAt(opts.mockUrl);
}

export function intentStatus(status: string): IntentStatus {
  const known = INTENT_STATUSES.find((s) => s === status);
  if (!known) throw new ProviderError(PROVIDER_UNEXPECTED, `Stripe answered a PaymentIntent status this adapter does not know: ${status.slice(0, 40)}`);
  return known;
}

export function toIntent(pi: Stripe.PaymentIntent): ProviderIntent {
  const status = intentStatus(pi.status);
  const charge = pi.latest_charge && typeof pi.latest_charge === 'object' ? pi.latest_charge : undefined;
  const failure = pi.last_payment_error?.decline_code ?? pi.last_payment_error?.code;
  const redirectUrl = pi.next_action?.redirect_to_url?.url ?? undefined;
  return {
    providerRef: pi.id,
    status,
    amountMinor: fromStripeAmount(pi.amount, pi.currency),
    amountCapturedMinor: fromStripeAmount(pi.amount_received ?? 0, pi.currency),
    amountRefundedMinor: fromStripeAmount(charge?.amount_refunded ?? 0, pi.currency),
    currency: pi.currency.toUpperCase() as Currency,
    ...(status === 'requires_action' && pi.client_secret
      ? { nextAction: { type: pi.next_action?.type ?? 'use_stripe_sdk', clientSecret: pi.client_secret, ...(redirectUrl ? { redirectUrl } : {}) } }
      : {}),
    ...(failure ? { lastFailureCode: failure } : {}),
  };
}

export function classify(err: unknown): never {
  if (err instanceof ProviderError) throw err;
  if (err instanceof Stripe.errors.StripeCardError) throw new ProviderError(PROVIDER_DECLINED, 'The card was declined', err.decline_code ?? err.code);
  if (err instanceof Stripe.errors.StripeInvalidRequestError) throw new ProviderError(PROVIDER_INVALID_REQUEST, `Stripe refused the request: ${err.code ?? 'invalid_request'}`, err.code);
  if (err instanceof Stripe.errors.StripeError) throw new ProviderError(PROVIDER_UNAVAILABLE, `Stripe is unavailable (${err.type})`);
  throw new ProviderError(PROVIDER_UNAVAILABLE, `Stripe call failed: ${(err as Error).message}`);
}

const mapped = (call: Promise<Stripe.PaymentIntent>) => call.then(toIntent, classify);

export class StripeProvider implements PaymentProvider {
  readonly name = 'stripe';
  constructor(protected readonly stripe: Stripe) {}

  async createIntent(input: Parameters<PaymentProvider['createIntent']>[0]): Promise<ProviderIntent> {
    return mapped(
      this.stripe.paymentIntents.create(
        {
          amount: toStripeAmount(input.amountMinor, input.currency),
          currency: input.currency.toLowerCase(),
          payment_method: input.paymentMethod,
          confirm: false,
          capture_method: input.captureMethod,
          automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
          metadata: { [PAYMENT_ID_METADATA]: input.paymentId },
          expand: EXPAND,
        },
        { idempotencyKey: input.idempotencyKey },
      ),
    );
  }

  authorize(input: Parameters<PaymentProvider['authorize']>[0]): Promise<ProviderIntent> {
    return mapped(this.stripe.paymentIntents.confirm(input.providerRef, { expand: EXPAND }, { idempotencyKey: input.idempotencyKey }));
  }

  retrieve(input: Parameters<PaymentProvider['retrieve']>[0]): Promise<ProviderIntent> {
    return mapped(this.stripe.paymentIntents.retrieve(input.providerRef, { expand: EXPAND }));
  }

  capture(input: Parameters<PaymentProvider['capture']>[0]): Promise<ProviderIntent> {
    return mapped(this.stripe.paymentIntents.capture(input.providerRef, { expand: EXPAND }, { idempotencyKey: input.idempotencyKey }));
  }

  cancel(input: Parameters<PaymentProvider['cancel']>[0]): Promise<ProviderIntent> {
    return mapped(this.stripe.paymentIntents.cancel(input.providerRef, { expand: EXPAND }, { idempotencyKey: input.idempotencyKey }));
  }

  async refund(input: Parameters<PaymentProvider['refund']>[0]) {
    // The intent's currency decides Stripe's unit (the refund request does not carry one).
    const { currency } = await this.stripe.paymentIntents.retrieve(input.providerRef).catch(classify);
    const refund = await this.stripe.refunds
      .create(
        { payment_intent: input.providerRef, amount: toStripeAmount(input.amountMinor, currency), metadata: { [PAYMENT_ID_METADATA]: input.paymentId, finflow_refund_id: input.refundId } },
        { idempotencyKey: input.idempotencyKey },
      )
      .catch(classify);
    return { refundRef: refund.id };
  }
}
