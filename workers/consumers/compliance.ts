/**
 * The seed's compliance consumer of payment.failed: records every failure for review, deduped by event id (the
 * failure table's key), and flags a customer whose failures within the window reach the threshold.
 */
import type { Pool } from 'pg';
import { withTenant } from '../../platform/db/pool';
import type { CloudEvent } from '../../platform/events/cloudevent';

export const COMPLIANCE_CONSUMER = 'compliance';

export interface ComplianceOptions {
  db: Pool;
  failureThreshold: number;
  windowHours: number;
}

interface PaymentFailed {
  paymentId: string;
  customerId: string;
  failureCode: string;
}

export function complianceRecorder(opts: ComplianceOptions) {
  return async function recordPaymentFailure(event: CloudEvent): Promise<'recorded' | 'flagged' | 'duplicate' | 'ignored'> {
    if (event.type !== 'payment.failed') return 'ignored';
    const data = event.data as PaymentFailed;
    return withTenant(opts.db, event.tenantid, async (tx) => {
      const inserted = await tx.query(
        `INSERT INTO compliance_payment_failures (event_id, tenant_id, payment_id, customer_id, failure_code, occurred_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id) DO NOTHING`,
        [event.id, event.tenantid, data.paymentId, data.customerId, data.failureCode, event.time],
      );
      if (inserted.rowCount === 0) return 'duplicate';
      const { rows } = await tx.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM compliance_payment_failures WHERE customer_id = $1 AND occurred_at > now() - make_interval(hours => $2)",
        [data.customerId, opts.windowHours],
      );
      const failures = rows[0]!.n;
      if (failures < opts.failureThreshold) return 'recorded';
      await tx.query(
        `INSERT INTO compliance_flags (tenant_id, customer_id, reason, failures) VALUES ($1, $2, 'repeated_payment_failures', $3)
         ON CONFLICT (tenant_id, customer_id) DO UPDATE SET failures = EXCLUDED.failures`,
        [event.tenantid, data.customerId, failures],
      );
      return 'flagged';
    });
  };
}
