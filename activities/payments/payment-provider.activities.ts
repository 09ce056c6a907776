/**
 * PaymentSaga's provider steps. The intent is created unconfirmed (key `<payment>:create`), its id stored on the
 * payment row, then confirmed (key `<payment>:confirm`); every later step finds it by that stored id, never by a
 * search (Stripe's lags writes). A retry after a crash between the create and the store repeats the idempotent
 * create and gets the same intent; nothing is confirmed before the id is stored, so a payment row without one has
 * nothing authorised. What the provider answered is checked status by status: only `requires_capture` and
 * `succeeded` go on; `requires_action` and `processing` wait for the customer or the provider (the row says so,
 * with the next action for the caller); a status nobody expects is an error, never a success.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { Pool } from 'pg';
import { readAsTenant, withTenant } from '../../platform/db/pool';
import { failpoint } from '../../platform/failpoints';
import { deterministicUuid } from '../../platform/ids';
import { refusal } from '../platform/refusal';
import type { PaymentInput } from '../../workflows/payments/payment.contract';
import {
  ProviderError,
  PROVIDER_DECLINED,
  PROVIDER_INVALID_REQUEST,
  PROVIDER_UNAVAILABLE,
  PROVIDER_UNEXPECTED,
  UNEXPECTED_STATE,
  type PaymentProvider,
  type ProviderIntent,
} from './provider/port';

/** What the saga learns of an intent: no next action (its client secret stays out of workflow history). */
export type IntentOutcome = Omit<ProviderIntent, 'nextAction'>;

/** Provider errors become ApplicationFailures typed by string, so the saga can tell declines from outages. */
export async function providerStep<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof ProviderError) {
      if (err.type === PROVIDER_UNAVAILABLE) throw ApplicationFailure.create({ type: err.type, message: err.message, details: [err.code ?? null] });
      // An answer nobody expects is not a business refusal: not retried, but logged as a failure for a person to see.
      if (err.type === PROVIDER_UNEXPECTED) throw ApplicationFailure.create({ type: err.type, message: err.message, nonRetryable: true, details: [err.code ?? null] });
      throw refusal(err.type, err.message, [err.code ?? null]);
    }
    throw err;
  }
}

const outcome = ({ nextAction: _secret, ...intent }: ProviderIntent): IntentOutcome => intent;
const declined = (intent: ProviderIntent) => new ProviderError(PROVIDER_DECLINED, 'The payment failed at the provider', intent.lastFailureCode ?? 'payment_failed');
/** Waiting states the payment row shows, with what the caller must do while `requires_action`. */
const WAITING = new Set(['requires_action', 'processing']);

export function createPaymentProviderActivities({ db, provider }: { db: Pool; provider: PaymentProvider }) {
  // One round trip (the tenant scope and the read as one message): every provider step reads it first.
  const storedRef = async (tenantId: string, paymentId: string) =>
    (await readAsTenant<{ provider_ref: string | null }>(db, tenantId, 'SELECT provider_ref FROM payments WHERE id = $1', [paymentId]))[0]?.provider_ref ?? null;

  /** The payment's intent: by the stored id, or created (idempotently) and its id stored before anything is confirmed. */
  async function intentOf(input: PaymentInput): Promise<ProviderIntent> {
    const ref = await storedRef(input.tenantId, input.paymentId);
    if (ref) return provider.retrieve({ paymentId: input.paymentId, providerRef: ref });
    const { paymentId, amountMinor, currency, paymentMethod, captureMethod } = input;
    const created = await provider.createIntent({ paymentId, amountMinor, currency, paymentMethod, captureMethod, idempotencyKey: `${paymentId}:create` });
    await withTenant(db, input.tenantId, (tx) =>
      tx.query('UPDATE payments SET provider = $2, provider_ref = $3, updated_at = now() WHERE id = $1 AND provider_ref IS NULL', [paymentId, provider.name, created.providerRef]),
    );
    return created;
  }

  /** Shows a waiting payment as such on its row (with the next action while the customer must act); nothing else. */
  async function recordWaiting(tenantId: string, paymentId: string, intent: ProviderIntent): Promise<void> {
    if (!WAITING.has(intent.status)) return;
    await withTenant(db, tenantId, (tx) =>
      tx.query(
        "UPDATE payments SET status = $2, next_action = $3, updated_at = now() WHERE id = $1 AND status IN ('pending', 'in_review', 'requires_action', 'processing')",
        [paymentId, intent.status, intent.nextAction ?? null],
      ),
    );
  }

  return {
    async authorizePayment(input: PaymentInput): Promise<IntentOutcome> {
      return providerStep(async () => {
        let intent = await intentOf(input);
        // Unconfirmed, or declined before (confirming again under the same key answers that decline again).
        if (intent.status === 'requires_confirmation' || intent.status === 'requires_payment_method') {
          intent = await provider.authorize({ paymentId: input.paymentId, providerRef: intent.providerRef, idempotencyKey: `${input.paymentId}:confirm` });
          // Automatic capture: the money has moved and the saga does not know yet.
          if (intent.status === 'succeeded') failpoint('after-provider-charge', input.paymentId);
        }
        switch (intent.status) {
          case 'requires_capture':
          case 'succeeded':
            return outcome(intent);
          case 'requires_action':
          case 'processing':
            await recordWaiting(input.tenantId, input.paymentId, intent);
            return outcome(intent);
          case 'requires_payment_method':
            throw declined(intent);
          case 'canceled':
            throw new ProviderError(PROVIDER_INVALID_REQUEST, 'The payment intent was cancelled', UNEXPECTED_STATE);
          case 'requires_confirmation':
            throw new ProviderError(PROVIDER_UNEXPECTED, 'The provider left the intent unconfirmed after confirming it');
        }
      });
    },

    /** Where an intent stands now, after a provider event or a deadline: the webhook only wakes the saga. */
    async checkAuthorization(input: { tenantId: string; paymentId: string; providerRef: string }): Promise<IntentOutcome> {
      return providerStep(async () => {
        const intent = await provider.retrieve({ paymentId: input.paymentId, providerRef: input.providerRef });
        await recordWaiting(input.tenantId, input.paymentId, intent);
        return outcome(intent);
      });
    },

    async captureCharge(input: { tenantId: string; paymentId: string; providerRef: string }): Promise<IntentOutcome> {
      return providerStep(async () => {
        const intent = await provider.retrieve({ paymentId: input.paymentId, providerRef: input.providerRef });
        if (intent.status === 'succeeded') return outcome(intent); // automatic capture, or a retry: never captured twice
        if (intent.status !== 'requires_capture') throw new ProviderError(PROVIDER_INVALID_REQUEST, `A ${intent.status} intent cannot be captured`, UNEXPECTED_STATE);
        const captured = await provider.capture({ paymentId: input.paymentId, providerRef: input.providerRef, idempotencyKey: `${input.paymentId}:capture` });
        failpoint('after-provider-charge', input.paymentId); // manual capture: the money has moved, the saga does not know yet
        if (captured.status !== 'succeeded') throw new ProviderError(PROVIDER_UNAVAILABLE, `The capture is ${captured.status}; asking again`);
        return outcome(captured);
      });
    },

    /**
     * Undoes whatever the provider holds for this payment, found by the intent id stored on its row: an intent not yet
     * charged is cancelled (an authorisation released, an authentication abandoned), a charge refunded (all that is
     * left of it). A row without an intent id had nothing confirmed. The saga's one provider-side compensation, also
     * after an authorisation whose answer never reached it (the provider may have charged all the same).
     */
    async undoAtProvider(input: { tenantId: string; paymentId: string }): Promise<'nothing' | 'released' | 'refunded'> {
      return providerStep(async () => {
        const providerRef = await storedRef(input.tenantId, input.paymentId);
        if (!providerRef) return 'nothing';
        const intent = await provider.retrieve({ paymentId: input.paymentId, providerRef });
        switch (intent.status) {
          case 'canceled':
            return 'nothing';
          case 'processing':
            throw new ProviderError(PROVIDER_UNAVAILABLE, 'The intent is processing: it can be undone once the provider settles it');
          case 'succeeded': {
            const refundable = intent.amountCapturedMinor - intent.amountRefundedMinor;
            if (refundable <= 0) return 'nothing';
            const refundId = deterministicUuid(input.paymentId, 'compensation-refund');
            await provider.refund({ paymentId: input.paymentId, providerRef, refundId, amountMinor: refundable, idempotencyKey: `${input.paymentId}:compensation-refund` });
            return 'refunded';
          }
          default:
            await provider.cancel({ paymentId: input.paymentId, providerRef, idempotencyKey: `${input.paymentId}:cancel` }).catch((err: unknown) => {
              // It moved meanwhile (the customer finished authenticating): ask again, and refund what it became.
              if (err instanceof ProviderError && err.code === UNEXPECTED_STATE) throw new ProviderError(PROVIDER_UNAVAILABLE, 'The intent moved while being cancelled');
              throw err;
            });
            return 'released';
        }
      });
    },
  };
}
