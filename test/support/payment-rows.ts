/**
 * Payment inputs and rows for tests and the history recorder that start PaymentSaga directly: the row the API
 * writes before it starts the saga, and a valid input with defaults a test overrides.
 */
import { randomUUID } from 'node:crypto';
import { withTenant, type Pool } from '../../platform/db/pool';
import type { PaymentInput } from '../../workflows/payments/payment.contract';

export function paymentInput(tenantId: string, overrides: Partial<PaymentInput> = {}): PaymentInput {
  return {
    paymentId: randomUUID(),
    tenantId,
    customerId: `cus_${randomUUID().slice(0, 8)}`,
    amountMinor: 2500,
    currency: 'EUR',
    paymentMethod: 'pm_card_visa',
    captureMethod: 'automatic',
    reviewTimeoutSeconds: 24 * 3600,
    authorizationTtlSeconds: 7 * 24 * 3600,
    ...overrides,
  };
}

/** The payment row the API writes before it starts the saga. */
export async function insertPaymentRow(db: Pool, input: PaymentInput): Promise<void> {
  await withTenant(db, input.tenantId, (tx) =>
    tx.query(
      `INSERT INTO payments (id, tenant_id, idempotency_key, request_hash, customer_id, amount_minor, currency, capture_method)
       VALUES ($1, $2, $3, '\\x00', $4, $5, $6, $7)`,
      [input.paymentId, input.tenantId, `key-${input.paymentId}`, input.customerId, input.amountMinor, input.currency, input.captureMethod],
    ),
  );
}
