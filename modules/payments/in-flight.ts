/** Payments still in flight: their saga has not reached an outcome the books can close on. */
import type { PoolClient } from 'pg';

/** A saga in these states may still post to the ledger (capture, failure, compensation). */
export const IN_FLIGHT_PAYMENT_STATUSES = ['pending', 'in_review', 'requires_action', 'processing'] as const;

/** How many of the tenant's payments made on the given local dates (its books' zone) are still in flight. */
export async function countInFlightPayments(tx: PoolClient, from: string, to: string): Promise<number> {
  const { rows } = await tx.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM payments p, tenants t
      WHERE t.id = p.tenant_id AND p.status = ANY($3::text[])
        AND (p.created_at AT TIME ZONE t.time_zone)::date BETWEEN $1::date AND $2::date`,
    [from, to, [...IN_FLIGHT_PAYMENT_STATUSES]],
  );
  return Number(rows[0]!.n);
}
