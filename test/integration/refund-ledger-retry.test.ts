/**
 * RefundWorkflow's ledger step retried after it committed (a worker died before reporting it): the retry carries the
 * workflow's date, so it is the same entry and the ledger answers "already posted"; the books move once.
 */
import { randomUUID } from 'node:crypto';
import { createRefundActivities } from '../../activities/payments';
import { createPool, withTenant, type Pool } from '../../platform/db/pool';
import { accountBalance, ensurePeriods } from '../../platform/ledger';
import { paymentProvider } from '../../workers/create-workers';
import { createTenant, testConfig } from '../support/env';

const cfg = testConfig();
let db: Pool;
let tenantId: string;

beforeAll(async () => {
  db = createPool(cfg.DATABASE_URL, 3);
  tenantId = await createTenant(db);
  await withTenant(db, tenantId, async (tx) => {
    await tx.query('SELECT create_default_chart($1)', [tenantId]);
    await ensurePeriods(tx, new Date().toISOString().slice(0, 10), 1);
  });
});
afterAll(() => db.end());

describe('RefundWorkflow ledger step retried after it committed', () => {
  it('postRefundEntry answers the retry with the entry already posted, and the books move once', async () => {
    const activities = createRefundActivities({ db, provider: paymentProvider(cfg, db) });
    const refunds = () => withTenant(db, tenantId, (tx) => accountBalance(tx, 'refunds', 'EUR'));
    const paymentId = randomUUID();
    const refundId = randomUUID();
    const input = {
      tenantId,
      paymentId,
      refundId,
      amountMinor: 450,
      idempotencyKey: 'refund-retry',
      workflowId: `refund-${refundId}`,
      currency: 'EUR' as const,
      providerRefundRef: 're_test',
      effectiveAt: new Date().toISOString(),
    };
    const before = await refunds();
    const entryId = await activities.postRefundEntry(input);
    await new Promise((r) => setTimeout(r, 20)); // a retry comes later than the attempt it repeats
    await expect(activities.postRefundEntry(input)).resolves.toBe(entryId);
    expect(await refunds()).toBe(before + 450);
  });

  it('reserveRefund answers two attempts of one refund at once with that one reservation', async () => {
    const activities = createRefundActivities({ db, provider: paymentProvider(cfg, db) });
    for (let round = 0; round < 5; round++) {
      const paymentId = randomUUID();
      await withTenant(db, tenantId, (tx) =>
        tx.query(
          `INSERT INTO payments (id, tenant_id, idempotency_key, request_hash, customer_id, amount_minor, currency, capture_method, status, provider_ref, amount_captured_minor)
           VALUES ($1, $2, $3, '\\x00', 'cus_retry', 1000, 'EUR', 'automatic', 'succeeded', 'pi_retry', 1000)`,
          [paymentId, tenantId, `k-${paymentId}`],
        ),
      );
      const refundId = randomUUID();
      const attempt = () => activities.reserveRefund({ tenantId, paymentId, refundId, amountMinor: 600, idempotencyKey: refundId });
      await Promise.all([attempt(), attempt()]);
      const { rows } = await withTenant(db, tenantId, (tx) => tx.query('SELECT amount_refunded_minor FROM payments WHERE id = $1', [paymentId]));
      expect(Number(rows[0].amount_refunded_minor)).toBe(600);
    }
  });
});
