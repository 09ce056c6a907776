/**
 * The local provider: every call goes through the Stripe SDK to stripe-mock (so Stripe's own OpenAPI server
 * validates each request), and the state stripe-mock does not keep is kept here, in Postgres, with Stripe's
 * test-card semantics: `pm_card_visa` and `pm_card_mastercard` succeed; `pm_card_chargeDeclined`,
 * `pm_card_chargeDeclinedInsufficientFunds` and `pm_card_chargeDeclinedExpiredCard` decline; any other payment
 * method is refused as Stripe refuses one it does not know (an invalid request, no intent made), a 3-D Secure test
 * card with its own code (SANDBOX_UNSUPPORTED_METHOD), so the payment is not taken for a decline. Intents are created
 * unconfirmed, one per idempotency key as on Stripe, then confirmed. With STRIPE_API_KEY set, StripeProvider is used
 * instead. Authentication (3-D Secure), asynchronous outcomes and webhooks are not played here: the tests' Stripe
 * double (test/support/stripe-double) plays them for the real adapter.
 */
import { createHash } from 'node:crypto';
import type Stripe from 'stripe';
import type { Pool, PoolClient } from 'pg';
import type { Currency } from '../../../core/money';
import { inTransaction } from '../../../platform/db/pool';
import { ProviderError, PROVIDER_DECLINED, PROVIDER_INVALID_REQUEST, UNEXPECTED_STATE, type CreateIntentInput, type IntentRef, type PaymentProvider, type ProviderIntent } from './port';
import { classify, StripeProvider } from './stripe';
import { SANDBOX_UNSUPPORTED_METHOD } from '../../../workflows/payments/payment.contract';

const DECLINES: Record<string, string> = {
  pm_card_chargeDeclined: 'generic_decline',
  pm_card_chargeDeclinedInsufficientFunds: 'insufficient_funds',
  pm_card_chargeDeclinedExpiredCard: 'expired_card',
};

const SUCCEEDS = new Set(['pm_card_visa', 'pm_card_mastercard']);

/** Stripe test cards that need 3-D Secure: real cards to Stripe, which this sandbox does not play. */
const NEEDS_AUTHENTICATION = new Set(['pm_card_threeDSecure2Required', 'pm_card_threeDSecureRequired', 'pm_card_authenticationRequired']);

const ref = (prefix: string, id: string) => `${prefix}_sbx_${createHash('sha256').update(id).digest('hex').slice(0, 24)}`;

interface Row {
  payment_id: string;
  provider_ref: string;
  status: ProviderIntent['status'];
  amount_minor: string;
  amount_captured_minor: string;
  amount_refunded_minor: string;
  currency: Currency;
  payment_method: string | null;
  capture_method: 'automatic' | 'manual' | null;
}

const toIntent = (r: Row): ProviderIntent => ({
  providerRef: r.provider_ref,
  status: r.status,
  amountMinor: Number(r.amount_minor),
  amountCapturedMinor: Number(r.amount_captured_minor),
  amountRefundedMinor: Number(r.amount_refunded_minor),
  currency: r.currency,
  ...(r.status === 'requires_payment_method' && r.payment_method && DECLINES[r.payment_method] ? { lastFailureCode: DECLINES[r.payment_method] } : {}),
});

const unexpected = (status: string) => new ProviderError(PROVIDER_INVALID_REQUEST, `The payment intent is ${status}`, UNEXPECTED_STATE);

export class StripeMockSandboxProvider implements PaymentProvider {
  readonly name = 'stripe-mock-sandbox';
  private readonly wire: StripeProvider;

  constructor(
    stripe: Stripe,
    private readonly db: Pool,
  ) {
    this.wire = new StripeProvider(stripe);
  }

  /** The sandbox's own view of a payment's first intent, as a dashboard shows it: for tests and ops, not the saga. */
  async findIntent(paymentId: string): Promise<ProviderIntent | undefined> {
    const { rows } = await this.db.query<Row>('SELECT * FROM provider_sandbox.intents WHERE payment_id = $1 ORDER BY created_at LIMIT 1', [paymentId]);
    return rows[0] ? toIntent(rows[0]) : undefined;
  }

  async createIntent(input: CreateIntentInput): Promise<ProviderIntent> {
    if (NEEDS_AUTHENTICATION.has(input.paymentMethod)) {
      throw new ProviderError(
        PROVIDER_INVALID_REQUEST,
        `${input.paymentMethod} needs 3-D Secure, which the local sandbox does not play: the tests' Stripe double and Stripe test mode (STRIPE_API_KEY) do`,
        SANDBOX_UNSUPPORTED_METHOD,
      );
    }
    // stripe-mock accepts any pm_ id; Stripe answers one it does not know "No such PaymentMethod".
    if (!SUCCEEDS.has(input.paymentMethod) && !DECLINES[input.paymentMethod]) {
      throw new ProviderError(PROVIDER_INVALID_REQUEST, 'No such PaymentMethod (the local sandbox knows only its test cards)', 'resource_missing');
    }
    await this.wire.createIntent(input); // validated by stripe-mock; its canned answer carries no state
    // As Stripe does: one intent per idempotency key; a repeat answers it.
    const { rows } = await this.db.query<Row>(
      `WITH created AS (
         INSERT INTO provider_sandbox.intents (payment_id, idempotency_key, provider_ref, amount_minor, currency, status, payment_method, capture_method)
         VALUES ($1, $2, $3, $4, $5, 'requires_confirmation', $6, $7)
         ON CONFLICT (idempotency_key) DO NOTHING
         RETURNING *
       )
       SELECT * FROM created
       UNION ALL
       SELECT * FROM provider_sandbox.intents WHERE idempotency_key = $2 AND NOT EXISTS (SELECT 1 FROM created)`,
      [input.paymentId, input.idempotencyKey, ref('pi', input.idempotencyKey), input.amountMinor, input.currency, input.paymentMethod, input.captureMethod],
    );
    return toIntent(rows[0]!);
  }

  /** Confirms: a good card is authorised (automatic capture: charged) in the statement that logs it; a decline card is declined, every time. */
  async authorize(input: IntentRef & { idempotencyKey: string }): Promise<ProviderIntent> {
    await this.wire.authorize(input);
    return inTransaction(this.db, async (tx) => {
      const intent = await this.locked(tx, input.providerRef);
      const decline = intent.payment_method ? DECLINES[intent.payment_method] : undefined;
      if (decline && (intent.status === 'requires_confirmation' || intent.status === 'requires_payment_method')) {
        await tx.query("UPDATE provider_sandbox.intents SET status = 'requires_payment_method' WHERE provider_ref = $1", [input.providerRef]);
        throw new ProviderError(PROVIDER_DECLINED, 'The card was declined', decline);
      }
      if (intent.status !== 'requires_confirmation') return toIntent(intent); // confirmed already: as Stripe's key replays it
      const charged = intent.capture_method === 'automatic';
      const { rows } = await tx.query<Row>(
        'UPDATE provider_sandbox.intents SET status = $2, amount_captured_minor = $3 WHERE provider_ref = $1 RETURNING *',
        [input.providerRef, charged ? 'succeeded' : 'requires_capture', charged ? intent.amount_minor : 0],
      );
      await tx.query('INSERT INTO provider_sandbox.calls (payment_id, method) VALUES ($1, $2)', [input.paymentId, charged ? 'charge' : 'authorize']);
      return toIntent(rows[0]!);
    });
  }

  async retrieve(input: IntentRef): Promise<ProviderIntent> {
    await this.wire.retrieve(input);
    const { rows } = await this.db.query<Row>('SELECT * FROM provider_sandbox.intents WHERE provider_ref = $1', [input.providerRef]);
    if (!rows[0]) throw new ProviderError(PROVIDER_INVALID_REQUEST, 'No such payment intent', 'resource_missing');
    return toIntent(rows[0]);
  }

  async capture(input: IntentRef & { idempotencyKey: string }): Promise<ProviderIntent> {
    await this.wire.capture(input);
    return this.transition(input, ['requires_capture'], 'succeeded', 'capture', 'amount_captured_minor = amount_minor');
  }

  async cancel(input: IntentRef & { idempotencyKey: string }): Promise<ProviderIntent> {
    await this.wire.cancel(input);
    return this.transition(input, ['requires_capture', 'requires_confirmation', 'requires_payment_method'], 'canceled', 'cancel');
  }

  async refund(input: IntentRef & { refundId: string; amountMinor: number; idempotencyKey: string }) {
    await this.wire.refund(input).catch(classify);
    return inTransaction(this.db, async (tx) => {
      // Row lock first: concurrent refunds of one payment are checked one after the other, as Stripe does, and a
      // second attempt of the same refund (a retry while the first was still running) waits for the first and then
      // finds it done, as Stripe's idempotency key would, instead of counting it twice.
      const intent = await this.locked(tx, input.providerRef);
      const done = await tx.query<{ refund_ref: string }>('SELECT refund_ref FROM provider_sandbox.refunds WHERE refund_id = $1', [input.refundId]);
      if (done.rows[0]) return { refundRef: done.rows[0].refund_ref };
      if (intent.status !== 'succeeded') throw new ProviderError(PROVIDER_INVALID_REQUEST, 'Nothing captured to refund', 'charge_not_captured');
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

  private async locked(tx: PoolClient, providerRef: string): Promise<Row> {
    const { rows } = await tx.query<Row>('SELECT * FROM provider_sandbox.intents WHERE provider_ref = $1 FOR UPDATE', [providerRef]);
    if (!rows[0]) throw new ProviderError(PROVIDER_INVALID_REQUEST, 'No such payment intent', 'resource_missing');
    return rows[0];
  }

  /** Moves an intent to `to` from one of `from`, logging the operation in the same transaction; a repeat answers the intent as it is. */
  private async transition(input: IntentRef, from: string[], to: string, method: 'capture' | 'cancel', extra = ''): Promise<ProviderIntent> {
    return inTransaction(this.db, async (tx) => {
      const intent = await this.locked(tx, input.providerRef);
      if (intent.status === to) return toIntent(intent);
      if (!from.includes(intent.status)) throw unexpected(intent.status);
      const { rows } = await tx.query<Row>(`UPDATE provider_sandbox.intents SET status = $2${extra ? `, ${extra}` : ''} WHERE provider_ref = $1 RETURNING *`, [input.providerRef, to]);
      await tx.query('INSERT INTO provider_sandbox.calls (payment_id, method) VALUES ($1, $2)', [intent.payment_id, method]);
      return toIntent(rows[0]!);
    });
  }
}
