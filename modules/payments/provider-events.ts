/**
 * Provider events (Stripe's webhooks) as the payments context keeps them: which payment an intent belongs to (from
 * the intent id stored on the payment row, never from the event's metadata alone), and each event once
 * (`payment_provider_events`, by the provider's event id; no payload kept).
 */
import type { Pool, PoolClient } from 'pg';
import { inTransaction, withTenant } from '../../platform/db/pool';

export type ProviderEventOutcome = 'delivered' | 'saga_ended' | 'inquiry' | 'disputed' | 'dispute_closed' | 'refund_known' | 'needs_review' | 'unmatched';

export interface ProviderEventRecord {
  eventId: string;
  provider: string;
  type: string;
  providerRef: string | null;
  tenantId: string | null;
  paymentId: string | null;
  outcome: ProviderEventOutcome;
  detail?: string;
}

export interface PaymentOfIntent {
  tenantId: string;
  paymentId: string;
  status: string;
}

/**
 * The payment whose stored intent id is `providerRef`, across tenants: the row policy `by_provider_ref` admits
 * exactly the rows naming that intent, for this transaction only. Two rows naming one intent is no match.
 */
export function paymentOfIntent(db: Pool, providerRef: string): Promise<PaymentOfIntent | undefined> {
  return inTransaction(db, async (tx) => {
    await tx.query("SELECT set_config('finflow.provider_ref', $1, true)", [providerRef]);
    const { rows } = await tx.query<{ tenant_id: string; id: string; status: string }>('SELECT tenant_id, id, status FROM payments WHERE provider_ref = $1 LIMIT 2', [providerRef]);
    return rows.length === 1 ? { tenantId: rows[0]!.tenant_id, paymentId: rows[0]!.id, status: rows[0]!.status } : undefined;
  });
}

/** Runs `fn` scoped to the event's tenant, or to no tenant for an event that matched no payment. */
export function scoped<T>(db: Pool, tenantId: string | null, fn: (tx: PoolClient) => Promise<T>): Promise<T> {
  return tenantId ? withTenant(db, tenantId, fn) : inTransaction(db, fn);
}

export async function eventSeen(db: Pool, tenantId: string | null, eventId: string): Promise<ProviderEventOutcome | undefined> {
  return scoped(db, tenantId, async (tx) => (await tx.query<{ outcome: ProviderEventOutcome }>('SELECT outcome FROM payment_provider_events WHERE event_id = $1', [eventId])).rows[0]?.outcome);
}

/** Records the event once; false when it was recorded already (a repeat delivery). */
export async function recordEvent(tx: PoolClient, e: ProviderEventRecord): Promise<boolean> {
  const inserted = await tx.query(
    `INSERT INTO payment_provider_events (event_id, provider, type, provider_ref, tenant_id, payment_id, outcome, detail)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (event_id) DO NOTHING`,
    [e.eventId, e.provider, e.type, e.providerRef, e.tenantId, e.paymentId, e.outcome, e.detail ?? null],
  );
  return inserted.rowCount === 1;
}

/**
 * A refund the provider reports: FinFlow's own if the payment's refunded total (reserved before each refund reaches
 * the provider) covers it, or if the payment did not go through (its compensation refunded it). Otherwise someone
 * refunded elsewhere (the Stripe dashboard): recorded for ops to reconcile, nothing booked.
 */
export async function recordRefund(db: Pool, e: Omit<ProviderEventRecord, 'outcome' | 'detail'> & { tenantId: string; paymentId: string; refundedMinor: number }) {
  return withTenant(db, e.tenantId, async (tx) => {
    const { rows } = await tx.query<{ status: string; amount_refunded_minor: string }>('SELECT status, amount_refunded_minor FROM payments WHERE id = $1', [e.paymentId]);
    const ours = Number(rows[0]?.amount_refunded_minor ?? 0);
    const settled = rows[0]?.status === 'succeeded' || rows[0]?.status === 'disputed';
    const known = !settled || e.refundedMinor <= ours;
    const outcome: ProviderEventOutcome = known ? 'refund_known' : 'needs_review';
    const detail = known ? undefined : `the provider shows ${e.refundedMinor} minor units refunded, FinFlow refunded ${ours}: a refund made outside FinFlow`;
    return (await recordEvent(tx, { ...e, outcome, detail })) ? outcome : 'duplicate';
  });
}
