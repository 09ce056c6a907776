/**
 * Business rows written straight through the application role, the way the API writes them before a workflow
 * starts, for tests of what the database itself accepts and refuses. Each takes a tenant-scoped transaction.
 */
import { randomUUID } from 'node:crypto';
import type { PoolClient } from '../../platform/db/pool';

export async function insertPayment(
  tx: PoolClient,
  tenantId: string,
  row: { customerId?: string; amountMinor?: number; status?: string; capturedMinor?: number; createdAt?: Date } = {},
): Promise<string> {
  const id = randomUUID();
  await tx.query(
    `INSERT INTO payments (id, tenant_id, idempotency_key, request_hash, customer_id, amount_minor, currency, capture_method, status,
                           amount_captured_minor, created_at)
     VALUES ($1, $2, $3, '\\x00', $4, $5, 'EUR', 'automatic', $6, $7, $8)`,
    [id, tenantId, `key-${id}`, row.customerId ?? 'cus_rows', row.amountMinor ?? 1000, row.status ?? 'pending', row.capturedMinor ?? 0, row.createdAt ?? new Date()],
  );
  return id;
}

export async function insertCreditApplication(tx: PoolClient, tenantId: string, requestedLimitMinor = 5_000_000): Promise<string> {
  const id = randomUUID();
  await tx.query(
    `INSERT INTO credit_applications (id, tenant_id, idempotency_key, request_hash, submitted_by, applicant, national_id_hash, credit_profile,
                                      requested_limit_minor, currency)
     VALUES ($1, $2, $3, '\\x00', $4, '{}', '\\x01', '{}', $5, 'TWD')`,
    [id, tenantId, `key-${id}`, `user:${randomUUID()}`, requestedLimitMinor],
  );
  return id;
}

export interface DecisionWrite {
  decision: 'approved' | 'declined';
  underwriterId: string;
  approvedLimitMinor?: number;
}

/** The decision write of activities/credit recordDecision, as an underwriter's decision. */
export function writeDecision(tx: PoolClient, applicationId: string, d: DecisionWrite) {
  return tx.query(
    `UPDATE credit_applications
        SET status = $2, decision = $2, decided_by = 'underwriter', underwriter_id = $3, probability_of_default = 0.3,
            model_version = 'credit-test-1', reasons = '[{"code":"R01"}]', approved_limit_minor = $4, decided_at = now(), updated_at = now()
      WHERE id = $1`,
    [applicationId, d.decision, d.underwriterId, d.decision === 'approved' ? (d.approvedLimitMinor ?? 1_000_000) : null],
  );
}
