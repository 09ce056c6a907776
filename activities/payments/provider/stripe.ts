/**
 * The Stripe adapter, on the official SDK: PaymentIntents with manual or automatic capture, cancel and refunds.
 * Errors are classified: declines and invalid requests are business failures (not retried); connection
 * errors, 5xx, 429 and lock timeouts are retried by Temporal with backoff.
 */
import Stripe from 'stripe';
import type { Currency } from '../../../core/money';
import { ProviderError, PROVIDER_DECLINED, PROVIDER_INVALID_REQUEST, PROVIDER_UNAVAILABLE, type PaymentProvider, type ProviderIntent } from './port';

export const PAYMENT_ID_METADATA = 'finflow_payment_id';

export function stripeClient(opts: { apiKey?: string; mockUrl: string }): Stripe {
  if (opts.apiKey) return new Stripe(opts.apiKey, { maxNetworkRetries: 0, timeout: 20_000 });
  const url = new URL(opts.mockUrl);
  // stripe-mock accepts any test key.
  return new Stripe('sk_test_123', { host: url.hostname, port: Number(url.port), protocol: url.protocol.replace(':', '') as 'http', maxNetworkRetries: 0, timeout: 10_000 });
}

export function toIntent(pi: Stripe.PaymentIntent): ProviderIntent {
  const status: ProviderIntent['status'] = pi.status === 'requires_capture' ? 'requires_capture' : pi.status === 'canceled' ? 'canceled' : 'succeeded';
  return {
    providerRef: pi.id,
    status,
    amountMinor: pi.amount,
    amountCapturedMinor: pi.amount_received ?? 0,
    amountRefundedMinor: 0,
    currency: pi.currency.toUpperCase() as Currency,
  };
}

export function classify(err: unknown): never {
  if (err instanceof Stripe.errors.StripeCardError) throw new ProviderError(PROVIDER_DECLINED, 'The card was declined', err.decline_code ?? err.code);
  if (err instanceof Stripe.errors.StripeInvalidRequestError) throw new ProviderError(PROVIDER_INVALID_REQUEST, `Stripe refused the request: ${err.code ?? 'invalid_request'}`, err.code);
  if (err instanceof Stripe.errors.StripeError) throw new ProviderError(PROVIDER_UNAVAILABLE, `Stripe is unavailable (${err.type})`);
  throw new ProviderError(PROVIDER_UNAVAILABLE, `Stripe call failed: ${(err as Error).message}`);
}

export class StripeProvider implements PaymentProvider {
  readonly name = 'stripe';
  constructor(protected readonly stripe: Stripe) {}

  async findIntent(paymentId: string): Promise<ProviderIntent | undefined> {
    const found = await this.stripe.paymentIntents
      .search({ query: `metadata['${PAYMENT_ID_METADATA}']:'${paymentId.replace(/'/g, '')}'`, limit: 1 })
      .catch(classify);
    return found.data[0] ? toIntent(found.data[0]) : undefined;
  }

  async authorize(input: Parameters<PaymentProvider['authorize']>[0]): Promise<ProviderIntent> {
    const pi = await this.stripe.paymentIntents
      .create(
        {
          amount: input.amountMinor,
          currency: input.currency.toLowerCase(),
          payment_method: input.paymentMethod,
          confirm: true,
          capture_method: input.captureMethod,
          automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
          metadata: { [PAYMENT_ID_METADATA]: input.paymentId },
        },
        { idempotencyKey: input.idempotencyKey },
      )
      .catch(classify);
    return toIntent(pi);
  }

  async capture(input: { providerRef: string; idempotencyKey: string }): Promise<ProviderIntent> {
    return toIntent(await this.stripe.paymentIntents.capture(input.providerRef, {}, { idempotencyKey: input.idempotencyKey }).catch(classify));
  }

  async cancel(input: { providerRef: string; idempotencyKey: string }): Promise<ProviderIntent> {
    return toIntent(await this.stripe.paymentIntents.cancel(input.providerRef, {}, { idempotencyKey: input.idempotencyKey }).catch(classify));
  }

  async refund(input: { paymentId: string; providerRef: string; refundId: string; amountMinor: number; idempotencyKey: string }) {
    const refund = await this.stripe.refunds
      .create(
        { payment_intent: input.providerRef, amount: input.amountMinor, metadata: { [PAYMENT_ID_METADATA]: input.paymentId, finflow_refund_id: input.refundId } },
        { idempotencyKey: input.idempotencyKey },
      )
      .catch(classify);
    return { refundRef: refund.id };
  }
}
