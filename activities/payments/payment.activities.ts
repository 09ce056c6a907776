/**
 * PaymentSaga's activities over injected ports. Each is idempotent by the payment id and its step: provider
 * calls carry `<paymentId>:<step>` idempotency keys and find the intent by the id stored on the payment row
 * (payment-provider.activities.ts); ledger entries have ids derived
 * from the workflow id and step, events from the payment and their occurrence; the database accepts each once.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { Pool, PoolClient } from 'pg';
import type { Currency } from '../../core/money';
import { withTenant } from '../../platform/db/pool';
import { appendToOutbox, ONCE } from '../../platform/events/outbox';
import { deterministicUuid } from '../../platform/ids';
import { LedgerError, placeHold, postIntoOpenPeriod, reverseIntoOpenPeriod, settleHold } from '../../platform/ledger';
import { paymentPartitionKey, type PaymentInput } from '../../workflows/payments/payment.contract';
import { createPaymentProviderActivities } from './payment-provider.activities';
import type { PaymentProvider } from './provider/port';
import { refusal } from '../platform/refusal';

export interface RiskPolicy {
  maxAmountMinor: number;
  reviewAmountMinor: number;
  velocityPerHour: number;
  deniedCustomers: ReadonlySet<string>;
}

export interface PaymentActivityDeps {
  db: Pool;
  provider: PaymentProvider;
  risk: RiskPolicy;
}

async function ledgerStep<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof LedgerError) throw refusal('LedgerRejected', err.message);
    throw err;
  }
}

const holdId = (paymentId: string) => deterministicUuid(paymentId, 'authorization-hold');

async function paymentRow(tx: PoolClient, paymentId: string) {
  const { rows } = await tx.query<{ customer_id: string; amount_minor: string; currency: Currency; status: string; invoice_ref: string | null }>(
    'SELECT customer_id, amount_minor, currency, status, invoice_ref FROM payments WHERE id = $1',
    [paymentId],
  );
  if (!rows[0]) throw ApplicationFailure.nonRetryable(`no payment ${paymentId}`, 'PaymentNotFound');
  return rows[0];
}

async function settleHoldIfAny(tx: PoolClient, paymentId: string, outcome: 'captured' | 'released' | 'expired') {
  const { rows } = await tx.query<{ status: string }>('SELECT status FROM ledger_holds WHERE id = $1', [holdId(paymentId)]);
  if (rows[0]?.status === 'active') await settleHold(tx, holdId(paymentId), outcome);
}

export function createPaymentActivities({ db, provider, risk }: PaymentActivityDeps) {
  async function emitOutcome(tx: PoolClient, paymentId: string, tenantId: string, type: 'payment.succeeded' | 'payment.failed' | 'payment.needs_attention', extra: Record<string, unknown>) {
    const p = await paymentRow(tx, paymentId);
    await appendToOutbox(tx, {
      occurrence: ONCE, // a payment ends once: succeeded, or failed / canceled / expired, or needing attention
      type,
      tenantId,
      aggregateType: 'payment',
      aggregateId: paymentId,
      partitionKey: paymentPartitionKey({ paymentId, invoiceRef: p.invoice_ref }),
      data: { paymentId, customerId: p.customer_id, amountMinor: Number(p.amount_minor), currency: p.currency, ...extra },
    });
  }

  return {
    ...createPaymentProviderActivities({ db, provider }),

    async screenPayment(input: PaymentInput): Promise<{ decision: 'clear' | 'review' | 'reject'; reasons: string[] }> {
      const reasons: string[] = [];
      if (risk.deniedCustomers.has(input.customerId)) return { decision: 'reject', reasons: ['customer_on_deny_list'] };
      if (input.amountMinor > risk.maxAmountMinor) return { decision: 'reject', reasons: ['amount_over_limit'] };
      if (input.amountMinor >= risk.reviewAmountMinor) reasons.push('amount_needs_review');
      const recent = await withTenant(db, input.tenantId, (tx) =>
        tx.query<{ n: string }>(
          "SELECT count(*) AS n FROM payments WHERE customer_id = $1 AND id <> $2 AND created_at > now() - interval '1 hour'",
          [input.customerId, input.paymentId],
        ),
      );
      if (Number(recent.rows[0]!.n) >= risk.velocityPerHour) reasons.push('customer_velocity');
      return { decision: reasons.length ? 'review' : 'clear', reasons };
    },

    async markPaymentStatus(input: { tenantId: string; paymentId: string; status: 'in_review' }): Promise<void> {
      await withTenant(db, input.tenantId, (tx) => tx.query("UPDATE payments SET status = $2, updated_at = now() WHERE id = $1 AND status = 'pending'", [input.paymentId, input.status]));
    },

    async recordAuthorization(input: { tenantId: string; paymentId: string; providerRef: string; authorizationTtlSeconds: number }): Promise<void> {
      await ledgerStep(() => withTenant(db, input.tenantId, async (tx) => {
        const p = await paymentRow(tx, input.paymentId);
        await placeHold(tx, {
          id: holdId(input.paymentId),
          tenantId: input.tenantId,
          account: { systemKey: 'provider_clearing' },
          amount: { amountMinor: Number(p.amount_minor), currency: p.currency },
          expiresAt: new Date(Date.now() + input.authorizationTtlSeconds * 1000),
          source: { type: 'payment', id: input.paymentId },
        });
        await tx.query(
          "UPDATE payments SET status = 'authorized', provider = $2, provider_ref = $3, updated_at = now() WHERE id = $1 AND status IN ('pending', 'in_review', 'requires_action', 'processing')",
          [input.paymentId, provider.name, input.providerRef],
        );
      }));
    },

    /**
     * `effectiveAt` comes from the workflow: a retry after the entry committed (a worker died before reporting it)
     * must post the very same entry, which the ledger answers with "already posted" instead of a conflict. The card
     * is charged: a closed period cannot refuse the entry, it goes into the first open period (as does a reversal).
     */
    async postPaymentEntry(input: { tenantId: string; paymentId: string; workflowId: string; amountMinor: number; currency: Currency; effectiveAt: string; invoiceRef?: string }): Promise<string> {
      const id = deterministicUuid(input.workflowId, 'capture-entry');
      await ledgerStep(() =>
        withTenant(db, input.tenantId, (tx) =>
          postIntoOpenPeriod(tx, {
            id,
            tenantId: input.tenantId,
            effectiveAt: new Date(input.effectiveAt),
            description: input.invoiceRef ? `Card payment for invoice ${input.invoiceRef}` : 'Card payment captured',
            source: { type: 'payment', id: input.paymentId },
            postings: [
              { account: { systemKey: 'provider_clearing' }, amount: { amountMinor: input.amountMinor, currency: input.currency } },
              { account: { systemKey: input.invoiceRef ? 'accounts_receivable' : 'sales_revenue' }, amount: { amountMinor: -input.amountMinor, currency: input.currency } },
            ],
          }),
        ),
      );
      return id;
    },

    async reversePaymentEntry(input: { tenantId: string; paymentId: string; workflowId: string; entryId: string; effectiveAt: string }): Promise<void> {
      await withTenant(db, input.tenantId, (tx) =>
        reverseIntoOpenPeriod(tx, {
          id: deterministicUuid(input.workflowId, 'capture-entry-reversal'),
          tenantId: input.tenantId,
          entryId: input.entryId,
          effectiveAt: new Date(input.effectiveAt),
          description: 'Reversal: payment compensated',
          source: { type: 'payment', id: input.paymentId },
        }),
      );
    },

    async completePayment(input: { tenantId: string; paymentId: string; entryId: string; amountCapturedMinor: number }): Promise<void> {
      await withTenant(db, input.tenantId, async (tx) => {
        await tx.query(
          "UPDATE payments SET status = 'succeeded', amount_captured_minor = $2, ledger_entry_id = $3, updated_at = now() WHERE id = $1 AND status <> 'succeeded'",
          [input.paymentId, input.amountCapturedMinor, input.entryId],
        );
        await settleHoldIfAny(tx, input.paymentId, 'captured');
        await emitOutcome(tx, input.paymentId, input.tenantId, 'payment.succeeded', { status: 'succeeded', ledgerEntryId: input.entryId });
      });
    },

    async failPayment(input: { tenantId: string; paymentId: string; failureCode: string }): Promise<void> {
      await withTenant(db, input.tenantId, async (tx) => {
        await tx.query("UPDATE payments SET status = 'failed', failure_code = $2, updated_at = now() WHERE id = $1 AND status NOT IN ('failed', 'succeeded')", [
          input.paymentId,
          input.failureCode,
        ]);
        await settleHoldIfAny(tx, input.paymentId, 'released');
        await emitOutcome(tx, input.paymentId, input.tenantId, 'payment.failed', { status: 'failed', failureCode: input.failureCode });
      });
    },

    /**
     * Ends a payment cancelled (its authorisation released, or its charge refunded) or expired: uncaptured, or the
     * customer never authenticated (`failureCode` customer_action_expired).
     */
    async closePaymentWithoutCapture(input: { tenantId: string; paymentId: string; status: 'canceled' | 'expired'; failureCode?: string }): Promise<void> {
      const failureCode = input.failureCode ?? (input.status === 'expired' ? 'authorization_expired' : 'canceled');
      await withTenant(db, input.tenantId, async (tx) => {
        await tx.query(
          "UPDATE payments SET status = $2, failure_code = coalesce($3, failure_code), updated_at = now() WHERE id = $1 AND status IN ('pending', 'in_review', 'authorized', 'requires_action', 'processing')",
          [input.paymentId, input.status, input.failureCode ?? null],
        );
        await settleHoldIfAny(tx, input.paymentId, input.status === 'expired' ? 'expired' : 'released');
        await emitOutcome(tx, input.paymentId, input.tenantId, 'payment.failed', { status: input.status, failureCode });
      });
    },

    /**
     * A compensation did not complete (its retries ran out): money may still be held or charged at the provider, or an
     * entry stand in the books. The payment waits for ops (GET /api/ops/payments/needs-attention), and says so once.
     */
    async flagPaymentForAttention(input: { tenantId: string; paymentId: string; failureCode: string; unresolved: string[] }): Promise<void> {
      await withTenant(db, input.tenantId, async (tx) => {
        await tx.query(
          "UPDATE payments SET status = 'needs_attention', failure_code = $2, unresolved_compensations = $3, updated_at = now() WHERE id = $1 AND status <> 'succeeded'",
          [input.paymentId, input.failureCode, input.unresolved],
        );
        await emitOutcome(tx, input.paymentId, input.tenantId, 'payment.needs_attention', { status: 'needs_attention', failureCode: input.failureCode, unresolved: input.unresolved });
      });
    },
  };
}

export type PaymentActivities = ReturnType<typeof createPaymentActivities>;
