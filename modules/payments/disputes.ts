/**
 * Disputes (chargebacks) on a payment that succeeded, after its saga ended, booked when the provider takes the money
 * and not before. Each is kept once by the provider's dispute id (`payment_disputes`), so every event about it,
 * repeated, late or out of order, moves money at most once:
 * - an inquiry (recordInquiry: Stripe's `warning_*` statuses, the issuer asking before it charges back) takes no
 *   money: it is kept as `inquiry`, the payment stays `succeeded` (refundable) with `dispute_status` `inquiry`, and
 *   nothing is booked.
 * - booked (bookDispute: a chargeback's creation, an inquiry turned into one, or the provider's word that it took
 *   the funds, whichever comes first): in one transaction the event is recorded, the payment becomes `disputed`,
 *   the ledger moves the disputed amount from the provider clearing account to `disputes` (contra revenue, as
 *   refunds) and `payment.disputed` goes to the outbox. Never more is booked than is still with FinFlow (captured,
 *   less refunded, less disputed before): a provider claiming more gets what is left booked and the event flagged
 *   `needs_review` for ops.
 * - closed (closeDispute: its close, or the provider returning the funds, whichever comes first): `won` and
 *   `warning_closed` return what was booked (the entry reversed, the payment `succeeded` again unless another
 *   dispute holds it; an inquiry had nothing to return), `lost` keeps it; `payment.dispute_closed` says which.
 */
import type { Pool, PoolClient } from 'pg';
import type { Currency } from '../../core/money';
import { withTenant } from '../../platform/db/pool';
import { appendToOutbox } from '../../platform/events/outbox';
import { deterministicUuid } from '../../platform/ids';
import { LedgerError, postIntoOpenPeriod, reverseIntoOpenPeriod } from '../../platform/ledger';
import { paymentPartitionKey } from '../../workflows/payments/payment.contract';
import { recordEvent, type ProviderEventOutcome, type ProviderEventRecord } from './provider-events';

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

/** How a dispute closed, as Stripe's `charge.dispute.closed` says (its dispute's `status`). */
export type DisputeOutcome = 'won' | 'lost' | 'warning_closed';
export const DISPUTE_OUTCOMES: readonly DisputeOutcome[] = ['won', 'lost', 'warning_closed'];
/** Outcomes that give the money back: a won chargeback, an inquiry that closed without becoming one. */
const RETURNED = new Set<DisputeOutcome>(['won', 'warning_closed']);

/** Stripe's statuses of an open inquiry: the issuer asks before charging back, and no money moves. */
export const isInquiry = (status: string) => status === 'warning_needs_response' || status === 'warning_under_review';

/** The payment's saga has not finished yet (a dispute seldom comes this early): the provider should send it again later. */
export class PaymentNotSettled extends Error {}

interface PaymentRow {
  status: string;
  currency: Currency;
  customer_id: string;
  invoice_ref: string | null;
  amount_captured_minor: string;
  amount_refunded_minor: string;
  amount_disputed_minor: string;
}
interface DisputeRow {
  status: 'inquiry' | 'open' | DisputeOutcome;
  booked_minor: string;
  ledger_entry_id: string | null;
}

const STILL_RUNNING = new Set(['pending', 'in_review', 'requires_action', 'processing', 'authorized']);

type Booked = 'disputed' | 'needs_review' | 'duplicate';

/** An inquiry: kept, nothing booked; an event about a dispute already kept (booked, closed) changes nothing. */
export async function recordInquiry(db: Pool, d: DisputeNotice): Promise<'inquiry' | 'needs_review' | 'duplicate'> {
  return inDisputeTransaction(db, d, async (tx, p, record) => {
    if (await disputeRow(tx, d)) {
      await recordEvent(tx, record('inquiry', `dispute ${d.disputeId} was recorded by an earlier event`));
      return 'duplicate';
    }
    const refusal = refusalOf(p, d);
    if (refusal) return (await recordEvent(tx, record('needs_review', refusal))) ? 'needs_review' : 'duplicate';
    if (!(await recordEvent(tx, record('inquiry')))) return 'duplicate';
    await insertDispute(tx, d, 0, null, 'inquiry');
    // The payment's last dispute, unless one that holds money says more.
    await tx.query("UPDATE payments SET dispute_status = CASE WHEN dispute_status IN ('open', 'lost') THEN dispute_status ELSE 'inquiry' END, updated_at = now() WHERE id = $1", [
      d.paymentId,
    ]);
    return 'inquiry';
  });
}

/** The provider took the money (a chargeback, or an inquiry turned into one): booked once per dispute. */
export async function bookDispute(db: Pool, d: DisputeNotice): Promise<Booked> {
  return inDisputeTransaction(db, d, async (tx, p, record) => {
    const known = await disputeRow(tx, d);
    if (known && known.status !== 'inquiry') {
      // Another event about a dispute already booked, or closed before this one arrived: nothing moves.
      await recordEvent(tx, record('disputed', `dispute ${d.disputeId} was recorded by an earlier event`));
      return 'duplicate';
    }
    const refusal = refusalOf(p, d);
    if (refusal) return (await recordEvent(tx, record('needs_review', refusal))) ? 'needs_review' : 'duplicate';
    return openDispute(tx, p, d, record, known);
  });
}

export async function closeDispute(db: Pool, d: DisputeNotice & { outcome: DisputeOutcome }): Promise<'dispute_closed' | 'needs_review' | 'duplicate'> {
  return inDisputeTransaction(db, d, async (tx, p, record) => {
    let dispute = await disputeRow(tx, d);
    if (dispute && dispute.status !== 'open' && dispute.status !== 'inquiry') {
      const detail = dispute.status === d.outcome ? `dispute ${d.disputeId} was closed ${d.outcome} already` : `dispute ${d.disputeId} closed ${d.outcome}, but it was closed ${dispute.status} already`;
      await recordEvent(tx, record(dispute.status === d.outcome ? 'dispute_closed' : 'needs_review', detail));
      return 'duplicate';
    }
    if (!dispute) {
      const refusal = refusalOf(p, d);
      if (refusal) return (await recordEvent(tx, record('needs_review', refusal))) ? 'needs_review' : 'duplicate';
      // Disputes booked before they were kept one by one: ops close those.
      const kept = await tx.query<{ n: string }>('SELECT coalesce(sum(booked_minor), 0) AS n FROM payment_disputes WHERE payment_id = $1', [d.paymentId]);
      if (Number(p.amount_disputed_minor) > Number(kept.rows[0]!.n)) {
        return (await recordEvent(tx, record('needs_review', 'a dispute booked before disputes were kept one by one closed: ops must close it'))) ? 'needs_review' : 'duplicate';
      }
      if (RETURNED.has(d.outcome)) {
        // Closed in the merchant's favour before its creation reached us (Stripe does not order events): nothing
        // left the business, nothing is booked; kept, so that the late creation books nothing either.
        if (!(await recordEvent(tx, record('dispute_closed', `dispute ${d.disputeId} closed ${d.outcome} before it was booked: nothing to book`)))) return 'duplicate';
        await insertDispute(tx, d, 0, null, d.outcome);
        await tx.query('UPDATE payments SET dispute_status = $2, updated_at = now() WHERE id = $1', [d.paymentId, d.outcome]);
        await announceClosed(tx, p, d, 0, p.status);
        return 'dispute_closed';
      }
    }
    if (!dispute || (dispute.status === 'inquiry' && !RETURNED.has(d.outcome))) {
      // Lost before its booking reached us (its creation, or the inquiry's turn into a chargeback): the money is
      // gone, so it is booked now, then closed.
      const opened = await openDispute(tx, p, d, (outcome, detail) => record(outcome === 'disputed' ? 'dispute_closed' : outcome, detail), dispute);
      if (opened === 'duplicate') return 'duplicate';
      dispute = (await disputeRow(tx, d))!;
    } else if (!(await recordEvent(tx, record('dispute_closed')))) {
      return 'duplicate';
    }
    const booked = Number(dispute.booked_minor);
    let reversal: string | null = null;
    if (RETURNED.has(d.outcome) && dispute.ledger_entry_id) {
      reversal = deterministicUuid(d.paymentId, 'dispute-returned', d.disputeId);
      await reverseIntoOpenPeriod(tx, {
        id: reversal,
        tenantId: d.tenantId,
        entryId: dispute.ledger_entry_id,
        effectiveAt: new Date(),
        description: `Card payment dispute closed ${d.outcome}: the disputed amount returned`,
        source: { type: 'payment', id: d.paymentId },
      });
    }
    await tx.query('UPDATE payment_disputes SET status = $2, reversal_entry_id = $3, closed_at = now() WHERE tenant_id = current_tenant_id() AND dispute_id = $1', [d.disputeId, d.outcome, reversal]);
    const returned = RETURNED.has(d.outcome) ? booked : 0;
    // Back to succeeded once no dispute holds money any more (none open, none lost).
    const { rows } = await tx.query<{ status: string }>(
      `UPDATE payments SET amount_disputed_minor = amount_disputed_minor - $2, dispute_status = $3,
              status = CASE WHEN status = 'disputed' AND NOT EXISTS (SELECT 1 FROM payment_disputes WHERE payment_id = $1 AND status IN ('open', 'lost')) THEN 'succeeded' ELSE status END,
              updated_at = now()
        WHERE id = $1 RETURNING status`,
      [d.paymentId, returned, d.outcome],
    );
    await announceClosed(tx, p, d, booked, rows[0]!.status);
    return 'dispute_closed';
  });
}

type Recorder = (outcome: ProviderEventOutcome, detail?: string) => ProviderEventRecord;

/** Locks the payment and runs `fn`; a ledger refusal (a chart without the account) is recorded for ops instead. */
async function inDisputeTransaction<T extends string>(
  db: Pool,
  d: DisputeNotice,
  fn: (tx: PoolClient, p: PaymentRow, record: Recorder) => Promise<T>,
): Promise<T | 'needs_review' | 'duplicate'> {
  const record: Recorder = (outcome, detail) => ({ ...d.event, tenantId: d.tenantId, paymentId: d.paymentId, outcome, detail });
  try {
    return await withTenant(db, d.tenantId, async (tx) => {
      const { rows } = await tx.query<PaymentRow>(
        'SELECT status, currency, customer_id, invoice_ref, amount_captured_minor, amount_refunded_minor, amount_disputed_minor FROM payments WHERE id = $1 FOR UPDATE',
        [d.paymentId],
      );
      const p = rows[0]!;
      if (STILL_RUNNING.has(p.status)) throw new PaymentNotSettled(`the payment is ${p.status}`);
      return fn(tx, p, record);
    });
  } catch (err) {
    // The books refused the entry (a chart without the account; a closed period moves it to the first open one):
    // nothing moved here; ops must book it.
    if (!(err instanceof LedgerError)) throw err;
    return withTenant(db, d.tenantId, async (tx) => ((await recordEvent(tx, record('needs_review', `the ledger refused the dispute entry: ${err.code}`))) ? 'needs_review' : 'duplicate'));
  }
}

function refusalOf(p: PaymentRow, d: DisputeNotice): string | undefined {
  if (p.status !== 'succeeded' && p.status !== 'disputed') return `a dispute on a ${p.status} payment`;
  if (d.currency.toUpperCase() !== p.currency) return `a dispute in ${d.currency.toUpperCase()} on a ${p.currency} payment`;
  return undefined;
}

const disputeRow = async (tx: PoolClient, d: DisputeNotice) =>
  (await tx.query<DisputeRow>('SELECT status, booked_minor, ledger_entry_id FROM payment_disputes WHERE tenant_id = current_tenant_id() AND dispute_id = $1 FOR UPDATE', [d.disputeId])).rows[0];

const insertDispute = (tx: PoolClient, d: DisputeNotice, booked: number, entryId: string | null, status: DisputeRow['status'] = 'open') =>
  tx.query(
    `INSERT INTO payment_disputes (tenant_id, dispute_id, payment_id, amount_minor, booked_minor, ledger_entry_id, status, opened_at, closed_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $7 IN ('open', 'inquiry') THEN NULL ELSE now() END)`,
    [d.tenantId, d.disputeId, d.paymentId, d.amountMinor, booked, entryId, status, d.openedAt],
  );

/**
 * Books the dispute: no more than is still with FinFlow; what the provider claims beyond it is flagged for ops. An
 * inquiry kept before (`inquiry`) is booked in its row, so the dispute stays one.
 */
async function openDispute(tx: PoolClient, p: PaymentRow, d: DisputeNotice, record: Recorder, inquiry?: DisputeRow): Promise<'disputed' | 'needs_review' | 'duplicate'> {
  const [captured, refunded, disputedBefore] = [Number(p.amount_captured_minor), Number(p.amount_refunded_minor), Number(p.amount_disputed_minor)];
  const left = Math.max(0, captured - refunded - disputedBefore);
  const booked = Math.min(d.amountMinor, left);
  const beyond =
    booked < d.amountMinor
      ? `the provider disputes ${d.amountMinor} minor units, ${left} were left (captured ${captured}, refunded ${refunded}, disputed before ${disputedBefore}): ${booked} booked`
      : undefined;
  const outcome = beyond ? 'needs_review' : 'disputed';
  if (!(await recordEvent(tx, record(outcome, beyond)))) return 'duplicate';

  const entryId = booked > 0 ? deterministicUuid(d.paymentId, 'dispute', d.disputeId) : null;
  if (inquiry) {
    await tx.query("UPDATE payment_disputes SET status = 'open', amount_minor = $2, booked_minor = $3, ledger_entry_id = $4 WHERE tenant_id = current_tenant_id() AND dispute_id = $1", [
      d.disputeId,
      d.amountMinor,
      booked,
      entryId,
    ]);
  } else {
    await insertDispute(tx, d, booked, entryId);
  }
  await tx.query("UPDATE payments SET status = 'disputed', dispute_status = 'open', amount_disputed_minor = amount_disputed_minor + $2, updated_at = now() WHERE id = $1", [
    d.paymentId,
    booked,
  ]);
  if (entryId) {
    const amount = { amountMinor: booked, currency: p.currency };
    await postIntoOpenPeriod(tx, {
      id: entryId,
      tenantId: d.tenantId,
      // Dated when the dispute opened, never later than now: a date the provider put in the future (a clock, or a
      // value no dispute has) would book it, and create periods, in months that have not come.
      effectiveAt: new Date(Math.min(d.openedAt.getTime(), Date.now())),
      description: 'Card payment disputed (chargeback)',
      source: { type: 'payment', id: d.paymentId },
      postings: [
        { account: { systemKey: 'disputes' }, amount },
        { account: { systemKey: 'provider_clearing' }, amount: { ...amount, amountMinor: -booked } },
      ],
    });
  }
  await appendToOutbox(tx, {
    occurrence: d.disputeId,
    type: 'payment.disputed',
    tenantId: d.tenantId,
    aggregateType: 'payment',
    aggregateId: d.paymentId,
    partitionKey: paymentPartitionKey({ paymentId: d.paymentId, invoiceRef: p.invoice_ref }),
    data: { paymentId: d.paymentId, disputeId: d.disputeId, customerId: p.customer_id, amountMinor: booked, disputedMinor: d.amountMinor, currency: p.currency, status: 'disputed', reason: d.reason },
  });
  return outcome;
}

function announceClosed(tx: PoolClient, p: PaymentRow, d: DisputeNotice & { outcome: DisputeOutcome }, booked: number, status: string) {
  return appendToOutbox(tx, {
    occurrence: d.disputeId,
    type: 'payment.dispute_closed',
    tenantId: d.tenantId,
    aggregateType: 'payment',
    aggregateId: d.paymentId,
    partitionKey: paymentPartitionKey({ paymentId: d.paymentId, invoiceRef: p.invoice_ref }),
    data: { paymentId: d.paymentId, disputeId: d.disputeId, customerId: p.customer_id, outcome: d.outcome, amountMinor: booked, currency: p.currency, status },
  });
}
