/**
 * PaymentSaga's ledger steps retried after their work committed, as Temporal retries them when a worker dies
 * between the commit and reporting the activity done (see the crash test). The retry carries the same input and
 * must be answered with the same entry: a refusal would fail a payment whose entry is already in the books, and
 * the saga would refund the charge without reversing the entry (the books would no longer match the provider).
 */
import { randomUUID } from 'node:crypto';
import { createPaymentActivities } from '../../activities/payments';
import { createPool, withTenant, type Pool } from '../../platform/db/pool';
import { accountBalance, ensurePeriods } from '../../platform/ledger';
import { paymentProvider, riskPolicy } from '../../workers/create-workers';
import { createTenant, testConfig } from '../support/env';

const cfg = testConfig();
let db: Pool;
let tenantId: string;
let activities: ReturnType<typeof createPaymentActivities>;

beforeAll(async () => {
  db = createPool(cfg.DATABASE_URL, 3);
  tenantId = await createTenant(db);
  await withTenant(db, tenantId, async (tx) => {
    await tx.query('SELECT create_default_chart($1)', [tenantId]);
    await ensurePeriods(tx, new Date().toISOString().slice(0, 10), 1);
  });
  activities = createPaymentActivities({ db, provider: paymentProvider(cfg, db), risk: riskPolicy(cfg) });
});

afterAll(async () => {
  await db.end();
});

const clearing = () => withTenant(db, tenantId, (tx) => accountBalance(tx, 'provider_clearing', 'EUR'));
/** A retry comes later than the attempt it repeats. */
const later = () => new Promise((r) => setTimeout(r, 20));

describe('PaymentSaga ledger steps retried after they committed', () => {
  it('postPaymentEntry answers the retry with the entry already posted, and the books move once', async () => {
    const paymentId = randomUUID();
    const input = { tenantId, paymentId, workflowId: `payment-${paymentId}`, amountMinor: 1234, currency: 'EUR' as const, effectiveAt: new Date().toISOString() };
    const before = await clearing();
    const entryId = await activities.postPaymentEntry(input);
    await later();
    await expect(activities.postPaymentEntry(input)).resolves.toBe(entryId);
    expect(await clearing()).toBe(before + 1234);
  });

  it('reversePaymentEntry answers the retry with the reversal already posted, and the books move back once', async () => {
    const paymentId = randomUUID();
    const workflowId = `payment-${paymentId}`;
    const before = await clearing();
    const entryId = await activities.postPaymentEntry({ tenantId, paymentId, workflowId, amountMinor: 777, currency: 'EUR', effectiveAt: new Date().toISOString() });
    const reversal = { tenantId, paymentId, workflowId, entryId, effectiveAt: new Date().toISOString() };
    await activities.reversePaymentEntry(reversal);
    await later();
    await expect(activities.reversePaymentEntry(reversal)).resolves.toBeUndefined();
    expect(await clearing()).toBe(before);
  });
});
