/**
 * A dispute (chargeback) on a payment that succeeded, after its saga ended: in one transaction the event is recorded
 * once, the payment becomes `disputed` with the amount the provider took back, the ledger moves that amount from the
 * provider clearing account to `disputes` (contra revenue, as refunds), and `payment.disputed` goes to the outbox.
 * A repeat of the event changes nothing (the event row, the entry id and the event id are all derived from it).
 */
import type { Pool } from 'pg';
import type { Currency } from '../../core/money';
import { withTenant } from '../../platform/db/pool';
import { appendToOutbox } from '../../platform/events/outbox';
import { deterministicUuid } from '../../platform/ids';
import { LedgerError, postIntoOpenPeriod } from '../../platform/ledger';
import { paymentPartitionKey } from '../../workflows/payments/payment.contract';
import { recordEvent, type ProviderEventRecord } from './provider-events';

export interface DisputeNotice {
  event: Omit<ProviderEventRecord, 'outcome' | 'detail' | 'tenantId' | 'paymentId'>;
  tenantId: string;
  paymentId: string;
  disputeId: string;
  amountMinor: number;
  /** ISO 4217, as the provider wrote it (lower case from Stripe). */
  currency: string;
  reason: string;
  openedAt: Date;
}

/** The payment's saga has not finished yet (a dispute seldom comes this early): the provider should send it again later. */
export class PaymentNotSettled extends Error {}

interface Row {
  status: string;
  currency: Currency;
  customer_id: string;
  invoice_ref: string | null;
  amount_captured_minor: string;
  amount_disputed_minor: string;
}

const STILL_RUNNING = new Set(['pending', 'in_review', 'requires_action', 'processing', 'authorized']);

export async function bookDispute(db: Pool, d: DisputeNotice): Promise<'disputed' | 'needs_review' | 'duplicate'> {
  const record = (outcome: 'disputed' | 'needs_review', detail?: string) => ({ ...d.event, tenantId: d.tenantId, paymentId: d.paymentId, outcome, detail });
  try {
    return await withTenant(db, d.tenantId, async (tx) => {
      const { rows } = await tx.query<Row>('SELECT status, currency, customer_id, invoice_ref, amount_captured_minor, amount_disputed_minor FROM payments WHERE id = $1 FOR UPDATE', [d.paymentId]);
      const p = rows[0]!;
      if (STILL_RUNNING.has(p.status)) throw new PaymentNotSettled(`the payment is ${p.status}`);
      const refusal =
        p.status !== 'succeeded' && p.status !== 'disputed'
          ? `a dispute on a ${p.status} payment`
          : d.currency.toUpperCase() !== p.currency
            ? `a dispute in ${d.currency.toUpperCase()} on a ${p.currency} payment`
            : Number(p.amount_disputed_minor) + d.amountMinor > Number(p.amount_captured_minor)
              ? `a dispute of ${d.amountMinor} minor units beyond what was captured`
              : undefined;
      if (refusal) return (await recordEvent(tx, record('needs_review', refusal))) ? 'needs_review' : 'duplicate';
      if (!(await recordEvent(tx, record('disputed')))) return 'duplicate';

      const amount = { amountMinor: d.amountMinor, currency: p.currency };
      await tx.query("UPDATE payments SET status = 'disputed', amount_disputed_minor = amount_disputed_minor + $2, updated_at = now() WHERE id = $1", [d.paymentId, d.amountMinor]);
      await postIntoOpenPeriod(tx, {
        id: deterministicUuid(d.paymentId, 'dispute', d.disputeId),
        tenantId: d.tenantId,
        // Dated when the dispute opened, never later than now: a date the provider put in the future (a clock, or a
        // value no dispute has) would book it, and create periods, in months that have not come.
        effectiveAt: new Date(Math.min(d.openedAt.getTime(), Date.now())),
        description: 'Card payment disputed (chargeback)',
        source: { type: 'payment', id: d.paymentId },
        postings: [
          { account: { systemKey: 'disputes' }, amount },
          { account: { systemKey: 'provider_clearing' }, amount: { ...amount, amountMinor: -d.amountMinor } },
        ],
      });
      await appendToOutbox(tx, {
        occurrence: d.disputeId,
        type: 'payment.disputed',
        tenantId: d.tenantId,
        aggregateType: 'payment',
        aggregateId: d.paymentId,
        partitionKey: paymentPartitionKey({ paymentId: d.paymentId, invoiceRef: p.invoice_ref }),
        data: { paymentId: d.paymentId, customerId: p.customer_id, amountMinor: d.amountMinor, currency: p.currency, status: 'disputed', reason: d.reason },
      });
      return 'disputed';
    });
  } catch (err) {
    // The books refused the entry (a chart without the account; a closed period moves it to the first open one):
    // nothing moved here; ops must book it.
    if (!(err instanceof LedgerError)) throw err;
    return withTenant(db, d.tenantId, async (tx) => ((await recordEvent(tx, record('needs_review', `the ledger refused the dispute entry: ${err.code}`))) ? 'needs_review' : 'duplicate'));
  }
}
