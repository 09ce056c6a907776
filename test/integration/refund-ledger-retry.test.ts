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
});
