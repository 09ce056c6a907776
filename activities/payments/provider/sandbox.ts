/**
 * The local provider: every call goes through the Stripe SDK to stripe-mock (so Stripe's own OpenAPI server
 * validates each request), and the state stripe-mock does not keep is kept here, in Postgres, with Stripe's
 * test-card semantics: `pm_card_visa` and `pm_card_mastercard` succeed; `pm_card_chargeDeclined`,
 * `pm_card_chargeDeclinedInsufficientFunds` and `pm_card_chargeDeclinedExpiredCard` decline. Idempotent by
 * payment and refund id, as Stripe is by idempotency key. With STRIPE_API_KEY set, StripeProvider is used instead.
 */
import { createHash } from 'node:crypto';
import type Stripe from 'stripe';
import type { Pool } from 'pg';
import type { Currency } from '../../../core/money';
import { inTransaction } from '../../../platform/db/pool';
import { ProviderError, PROVIDER_DECLINED, PROVIDER_INVALID_REQUEST, type AuthorizeInput, type PaymentProvider, type ProviderIntent } from './port';
import { classify, StripeProvider } from './stripe';

const DECLINES: Record<string, string> = {
  pm_card_chargeDeclined: 'generic_decline',
  pm_card_chargeDeclinedInsufficientFunds: 'insufficient_funds',
  pm_card_chargeDeclinedExpiredCard: 'expired_card',
};

const ref = (prefix: string, id: string) => `${prefix}_sbx_${createHash('sha256').update(id).digest('hex').slice(0, 24)}`;

interface Row {
  provider_ref: string;
  status: ProviderIntent['status'];
  amount_minor: string;
  amount_captured_minor: string;
  amount_refunded_minor: string;
  currency: Currency;
}

const toIntent = (r: Row): ProviderIntent => ({
  providerRef: r.provider_ref,
  status: r.status,
  amountMinor: Number(r.amount_minor),
  amountCapturedMinor: Number(r.amount_captured_minor),
  amountRefundedMinor: Number(r.amount_refunded_minor),
  currency: r.currency,
});

export class StripeMockSandboxProvider implements PaymentProvider {
  readonly name = 'stripe-mock-sandbox';
  private readonly wire: StripeProvider;

  constructor(
    stripe: Stripe,
    private readonly db: Pool,
  ) {
    this.wire = new StripeProvider(stripe);
  }

  async findIntent(paymentId: string): Promise<ProviderIntent | undefined> {
    const { rows } = await this.db.query<Row>('SELECT * FROM provider_sandbox.intents WHERE payment_id = $1 ORDER BY created_at LIMIT 1', [paymentId]);
    return rows[0] ? toIntent(rows[0]) : undefined;
  }

  async authorize(input: AuthorizeInput): Promise<ProviderIntent> {
    await this.wire.authorize(input); // validated by stripe-mock; its canned answer carries no state
    const decline = DECLINES[input.paymentMethod];
    if (decline) throw new ProviderError(PROVIDER_DECLINED, 'The card was declined', decline);
    const status = input.captureMethod === 'manual' ? 'requires_capture' : 'succeeded';
    // As Stripe does: one intent per idempotency key, created and charged in one atomic step.
    const { rows } = await this.db.query<Row>(
      `WITH created AS (
         INSERT INTO provider_sandbox.intents (payment_id, idempotency_key, provider_ref, amount_minor, currency, status, amount_captured_minor)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (idempotency_key) DO NOTHING
         RETURNING *
       ), logged AS (
         INSERT INTO provider_sandbox.calls (payment_id, method) SELECT payment_id, $8 FROM created
       )
       SELECT * FROM created
       UNION ALL
       SELECT * FROM provider_sandbox.intents WHERE idempotency_key = $2 AND NOT EXISTS (SELECT 1 FROM created)`,
      [
        input.paymentId,
        input.idempotencyKey,
        ref('pi', input.idempotencyKey),
        input.amountMinor,
        input.currency,
        status,
        status === 'succeeded' ? input.amountMinor : 0,
        status === 'succeeded' ? 'charge' : 'authorize',
      ],
    );
    return toIntent(rows[0]!);
  }

  async capture(input: { paymentId: string; providerRef: string; idempotencyKey: string }): Promise<ProviderIntent> {
    await this.wire.capture(input);
    return this.transition(input.providerRef, 'requires_capture', 'succeeded', 'capture', 'amount_captured_minor = amount_minor');
  }

  async cancel(input: { paymentId: string; providerRef: string; idempotencyKey: string }): Promise<ProviderIntent> {
    await this.wire.cancel(input);
    return this.transition(input.providerRef, 'requires_capture', 'canceled', 'cancel');
  }

  async refund(input: { paymentId: string; providerRef: string; refundId: string; amountMinor: number; idempotencyKey: string }) {
    await this.wire.refund(input).catch(classify);
    return inTransaction(this.db, async (tx) => {
      // Row lock first: concurrent refunds of one payment are checked one after the other, as Stripe does, and a
      // second attempt of the same refund (a retry while the first was still running) waits for the first and then
      // finds it done, as Stripe's idempotency key would, instead of counting it twice.
      const { rows } = await tx.query<Row>('SELECT * FROM provider_sandbox.intents WHERE provider_ref = $1 FOR UPDATE', [input.providerRef]);
      const done = await tx.query<{ refund_ref: string }>('SELECT refund_ref FROM provider_sandbox.refunds WHERE refund_id = $1', [input.refundId]);
      if (done.rows[0]) return { refundRef: done.rows[0].refund_ref };
      const intent = rows[0];
      if (!intent || intent.status !== 'succeeded') throw new ProviderError(PROVIDER_INVALID_REQUEST, 'Nothing captured to refund', 'charge_not_captured');
      if (Number(intent.amount_refunded_minor) + input.amountMinor > Number(intent.amount_captured_minor)) {
        throw new ProviderError(PROVIDER_INVALID_REQUEST, 'Refund exceeds the captured amount', 'amount_too_large');
      }
      const refundRef = ref('re', input.refundId);
      await tx.query('INSERT INTO provider_sandbox.refunds (refund_id, payment_id, refund_ref, amount_minor) VALUES ($1, $2, $3, $4)', [
        input.refundId,
        input.paymentId,
        refundRef,
        input.amountMinor,
      ]);
      await tx.query('UPDATE provider_sandbox.intents SET amount_refunded_minor = amount_refunded_minor + $2 WHERE provider_ref = $1', [input.providerRef, input.amountMinor]);
      await tx.query("INSERT INTO provider_sandbox.calls (payment_id, method) VALUES ($1, 'refund')", [input.paymentId]);
      return { refundRef };
    });
  }

  /** Moves an intent from one status to another, logging the operation in the same statement. */
  private async transition(providerRef: string, from: string, to: string, method: 'capture' | 'cancel', extra = ''): Promise<ProviderIntent> {
    const set = extra ? `status = $3, ${extra}` : 'status = $3';
    await this.db.query(
      `WITH moved AS (UPDATE provider_sandbox.intents SET ${set} WHERE provider_ref = $1 AND status = $2 RETURNING payment_id)
       INSERT INTO provider_sandbox.calls (payment_id, method) SELECT payment_id, $4 FROM moved`,
      [providerRef, from, to, method],
    );
    const { rows } = await this.db.query<Row>('SELECT * FROM provider_sandbox.intents WHERE provider_ref = $1', [providerRef]);
    if (!rows[0]) throw new ProviderError(PROVIDER_INVALID_REQUEST, 'No such payment intent', 'resource_missing');
    if (rows[0].status !== to) throw new ProviderError(PROVIDER_INVALID_REQUEST, `The payment intent is ${rows[0].status}`, 'payment_intent_unexpected_state');
    return toIntent(rows[0]);
  }
}
