/**
 * RefundWorkflow's activities. The reservation is the guard: one UPDATE that only succeeds while the payment's
 * refunded total plus this refund stays within what was captured (and a CHECK constraint behind it), so two
 * concurrent refunds can never exceed the capture.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { Pool } from 'pg';
import type { Currency } from '../../core/money';
import { withTenant } from '../../platform/db/pool';
import { deterministicUuid } from '../../platform/ids';
import { postIntoOpenPeriod } from '../../platform/ledger';
import { REFUND_FAILURES } from '../../workflows/payments/refund.contract';
import { ProviderError, type PaymentProvider } from './provider/port';
import { refusal } from '../platform/refusal';

export const REFUND_REJECTED = REFUND_FAILURES.rejected;
/** A refund run again after it ended (succeeded or failed): refused before anything moves. */
const REFUND_ENDED = 'RefundEnded';

export interface RefundRequest {
  refundId: string;
  tenantId: string;
  paymentId: string;
  amountMinor: number;
  idempotencyKey: string;
  reason?: string;
}

export function createRefundActivities({ db, provider }: { db: Pool; provider: PaymentProvider }) {
  return {
    async reserveRefund(input: RefundRequest): Promise<{ currency: Currency; providerRef: string }> {
      const reserved = await withTenant(db, input.tenantId, async (tx) => {
        // The payment row first: a second attempt of this reservation (a retry while the first still runs) waits for
        // the first, then finds its refund row, instead of reserving the amount a second time and being refused.
        const payment = await tx.query<{ currency: Currency; provider_ref: string | null; status: string }>('SELECT currency, provider_ref, status FROM payments WHERE id = $1 FOR UPDATE', [
          input.paymentId,
        ]);
        const existing = await tx.query<{ status: string }>('SELECT status FROM payment_refunds WHERE id = $1', [input.refundId]);
        if (!payment.rows[0]) throw ApplicationFailure.nonRetryable(`no payment ${input.paymentId}`, REFUND_REJECTED);
        const found = { currency: payment.rows[0].currency, providerRef: payment.rows[0].provider_ref! };
        // A run of a refund that already ended (its workflow's history gone, so REJECT_DUPLICATE let it start): the
        // refund is over, its reservation released or its money paid out. Nothing may reach the provider again.
        if (existing.rows[0] && existing.rows[0].status !== 'pending') throw refusal(REFUND_ENDED, `refund ${input.refundId} already ${existing.rows[0].status}`);
        if (existing.rowCount) return found;
        // Refused before (this request's key is answered the same for good): refused again, whatever is left now.
        const request = await tx.query<{ refusal: string | null }>('SELECT refusal FROM payment_refund_requests WHERE id = $1', [input.refundId]);
        if (request.rows[0]?.refusal) return { refused: request.rows[0].refusal };
        const taken = await tx.query(
          `UPDATE payments SET amount_refunded_minor = amount_refunded_minor + $2, updated_at = now()
            WHERE id = $1 AND status = 'succeeded' AND amount_refunded_minor + amount_disputed_minor + $2 <= amount_captured_minor`,
          [input.paymentId, input.amountMinor],
        );
        if (taken.rowCount !== 1) {
          // Kept with the request, in this transaction: a repeat of its key after the workflow's history is gone is
          // refused the same, even once money has come free (a refund failed, a dispute won).
          const why = payment.rows[0].status === 'disputed' ? 'payment_disputed' : payment.rows[0].status === 'succeeded' ? 'exceeds_refundable' : undefined;
          if (why) await tx.query('UPDATE payment_refund_requests SET refusal = $2 WHERE id = $1 AND refusal IS NULL', [input.refundId, why]);
          return { refused: why ?? `a ${payment.rows[0].status} payment` };
        }
        await tx.query(
          'INSERT INTO payment_refunds (id, tenant_id, payment_id, idempotency_key, amount_minor, reason) VALUES ($1, $2, $3, $4, $5, $6)',
          [input.refundId, input.tenantId, input.paymentId, input.idempotencyKey, input.amountMinor, input.reason ?? null],
        );
        return found;
      });
      if ('refused' in reserved) {
        const message = reserved.refused === 'payment_disputed' ? 'the payment is disputed' : 'the refund would exceed what is left to refund on this payment';
        throw refusal(REFUND_REJECTED, message);
      }
      return reserved;
    },

    async refundAtProvider(input: RefundRequest & { providerRef: string }): Promise<string> {
      try {
        const { refundRef } = await provider.refund({
          paymentId: input.paymentId,
          providerRef: input.providerRef,
          refundId: input.refundId,
          amountMinor: input.amountMinor,
          idempotencyKey: `${input.refundId}:refund`,
        });
        return refundRef;
      } catch (err) {
        if (err instanceof ProviderError) throw err.type === 'ProviderUnavailable' ? ApplicationFailure.create({ type: err.type, message: err.message }) : refusal(err.type, err.message);
        throw err;
      }
    },

    async releaseRefundReservation(input: RefundRequest): Promise<void> {
      await withTenant(db, input.tenantId, async (tx) => {
        const failed = await tx.query("UPDATE payment_refunds SET status = 'failed' WHERE id = $1 AND status = 'pending'", [input.refundId]);
        if (failed.rowCount === 1) {
          await tx.query('UPDATE payments SET amount_refunded_minor = amount_refunded_minor - $2, updated_at = now() WHERE id = $1', [input.paymentId, input.amountMinor]);
        }
      });
    },

    /**
     * `effectiveAt` comes from the workflow: a retry after the entry committed posts the same entry again. The
     * provider has paid the money back, so a closed period cannot refuse it: it goes into the first open period.
     */
    async postRefundEntry(input: RefundRequest & { workflowId: string; currency: Currency; providerRefundRef: string; effectiveAt: string }): Promise<string> {
      const entryId = deterministicUuid(input.workflowId, 'refund-entry');
      await withTenant(db, input.tenantId, async (tx) => {
        await postIntoOpenPeriod(tx, {
          id: entryId,
          tenantId: input.tenantId,
          effectiveAt: new Date(input.effectiveAt),
          description: 'Card payment refunded',
          source: { type: 'refund', id: input.refundId },
          postings: [
            { account: { systemKey: 'refunds' }, amount: { amountMinor: input.amountMinor, currency: input.currency } },
            { account: { systemKey: 'provider_clearing' }, amount: { amountMinor: -input.amountMinor, currency: input.currency } },
          ],
        });
        await tx.query("UPDATE payment_refunds SET status = 'succeeded', provider_ref = $2, ledger_entry_id = $3 WHERE id = $1", [
          input.refundId,
          input.providerRefundRef,
          entryId,
        ]);
      });
      return entryId;
    },
  };
}

export type RefundActivities = ReturnType<typeof createRefundActivities>;
