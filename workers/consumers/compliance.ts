/**
 * The seed's compliance consumer of payment.failed: records every failure for review, deduped by event id (the
 * failure table's key), and flags a customer who failed `failureThreshold` times within `windowHours`.
 *
 * The window is measured on when the failures happened (the event's time), not on when the consumer reads them:
 * a burst read late (the consumer was down, Kafka kept the events) still flags, and since one customer's payments
 * travel on different partitions, failures may arrive in any order.
 *
 * A cancelled payment or an expired authorisation is also announced as payment.failed, but it is not a failure of
 * the customer's: the card was authorised, and the merchant released it (cancel) or never captured it (expiry).
 * Neither is recorded nor counted.
 */
import type { Pool } from 'pg';
import { z } from 'zod';
import { withTenant } from '../../platform/db/pool';
import type { CloudEvent } from '../../platform/events/cloudevent';
import { parseData } from '../../platform/events/consumer';

export const COMPLIANCE_CONSUMER = 'compliance';

export interface ComplianceOptions {
  db: Pool;
  failureThreshold: number;
  windowHours: number;
}

/** What compliance reads of payment.failed (the saga writes more): anything else is dead-lettered, never guessed. */
const paymentFailed = z.object({
  paymentId: z.guid(),
  customerId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  failureCode: z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/),
  /** 'failed', or 'canceled' / 'expired' for a payment closed without capture. */
  status: z.string().max(40).optional(),
});

const NOT_A_CUSTOMER_FAILURE = new Set(['canceled', 'expired']);

/**
 * The most failures of one customer that fit in a window of `hours` containing `at`: each such window can start at
 * its earliest failure, so the windows to try are [s, s + hours) for each failure s in (at - hours, at].
 */
const FAILURES_IN_A_WINDOW = `
  WITH nearby AS (
    SELECT occurred_at FROM compliance_payment_failures
     WHERE customer_id = $1 AND occurred_at > $2::timestamptz - make_interval(hours => $3) AND occurred_at < $2::timestamptz + make_interval(hours => $3))
  SELECT coalesce(max((SELECT count(*) FROM nearby f WHERE f.occurred_at >= s.occurred_at AND f.occurred_at < s.occurred_at + make_interval(hours => $3))), 0)::int AS n
    FROM nearby s WHERE s.occurred_at <= $2::timestamptz`;

export function complianceRecorder(opts: ComplianceOptions) {
  return async function recordPaymentFailure(event: CloudEvent): Promise<'recorded' | 'flagged' | 'duplicate' | 'ignored'> {
    if (event.type !== 'payment.failed') return 'ignored';
    const data = parseData(event, paymentFailed);
    if (data.status && NOT_A_CUSTOMER_FAILURE.has(data.status)) return 'ignored';
    return withTenant(opts.db, event.tenantid, async (tx) => {
      // One customer's failures are counted one event at a time: two consumers (or partitions) recording failures
      // of the same customer at the same moment would each miss the other's uncommitted row.
      await tx.query("SELECT pg_advisory_xact_lock(hashtextextended('compliance/' || $1 || '/' || $2, 0))", [event.tenantid, data.customerId]);
      const inserted = await tx.query(
        `INSERT INTO compliance_payment_failures (event_id, tenant_id, payment_id, customer_id, failure_code, occurred_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id) DO NOTHING`,
        [event.id, event.tenantid, data.paymentId, data.customerId, data.failureCode, event.time],
      );
      if (inserted.rowCount === 0) return 'duplicate';
      const { rows } = await tx.query<{ n: number }>(FAILURES_IN_A_WINDOW, [data.customerId, event.time, opts.windowHours]);
      const failures = rows[0]!.n;
      if (failures < opts.failureThreshold) return 'recorded';
      await tx.query(
        `INSERT INTO compliance_flags (tenant_id, customer_id, reason, failures) VALUES ($1, $2, 'repeated_payment_failures', $3)
         ON CONFLICT (tenant_id, customer_id) DO UPDATE SET failures = greatest(compliance_flags.failures, EXCLUDED.failures)`,
        [event.tenantid, data.customerId, failures],
      );
      return 'flagged';
    });
  };
}
