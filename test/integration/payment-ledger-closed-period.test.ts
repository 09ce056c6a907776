/**
 * PaymentSaga's ledger steps when the payment's date falls in a closed accounting period (the month closed while the
 * saga ran). The card has been charged, or the charge is being undone: the books must follow the money, so the entry
 * (or its reversal) goes into the first open period, its own date kept in the description. Before, the capture entry
 * was refused (LedgerRejected): the saga failed the payment and refunded a good charge; a refused reversal left the
 * compensation to run out and the payment needing attention.
 */
import { randomUUID } from 'node:crypto';
import { createPaymentActivities } from '../../activities/payments';
import { createPool, withTenant, type Pool } from '../../platform/db/pool';
import { accountBalance, ensurePeriods, setPeriodStatus } from '../../platform/ledger';
import { paymentProvider, riskPolicy } from '../../workers/create-workers';
import { createTenant, testConfig } from '../support/env';

const cfg = testConfig();
let db: Pool;
let activities: ReturnType<typeof createPaymentActivities>;

beforeAll(async () => {
  db = createPool(cfg.DATABASE_URL, 3);
  activities = createPaymentActivities({ db, provider: paymentProvider(cfg, db), risk: riskPolicy(cfg) });
});

afterAll(async () => {
  await db.end();
});

/** A tenant of its own with its chart and four months of periods. */
async function books(): Promise<string> {
  const tenantId = await createTenant(db);
  await withTenant(db, tenantId, async (tx) => {
    await tx.query('SELECT create_default_chart($1)', [tenantId]);
    await ensurePeriods(tx, new Date().toISOString().slice(0, 10), 3);
  });
  return tenantId;
}
/** Closes the period holding today (and any open one before it); answers the first open period's start. */
const closeThroughToday = (tenantId: string) =>
  withTenant(db, tenantId, async (tx) => {
    const { rows } = await tx.query<{ start: string }>(
      "SELECT to_char(period_start, 'YYYY-MM-DD') AS start FROM accounting_periods WHERE period_start <= (now() AT TIME ZONE 'UTC')::date AND status <> 'closed' ORDER BY period_start",
    );
    for (const { start } of rows) await setPeriodStatus(tx, { periodStart: start, action: 'close', actor: 'payment-ledger-closed-period test' });
    return (await tx.query<{ start: string }>("SELECT to_char(max(period_end) + 1, 'YYYY-MM-DD') AS start FROM accounting_periods WHERE status = 'closed'")).rows[0]!.start;
  });
const entry = (tenantId: string, id: string) =>
  withTenant(
    db,
    tenantId,
    async (tx) =>
      (await tx.query<{ accounting_date: string; description: string }>("SELECT to_char(accounting_date, 'YYYY-MM-DD') AS accounting_date, description FROM journal_entries WHERE id = $1", [id]))
        .rows[0],
  );
const clearing = (tenantId: string) => withTenant(db, tenantId, (tx) => accountBalance(tx, 'provider_clearing', 'EUR'));

describe('PaymentSaga ledger steps dated in a closed period', () => {
  it('postPaymentEntry books the charge in the first open period, and a retry is the same entry', async () => {
    const tenantId = await books();
    const openFrom = await closeThroughToday(tenantId);
    const paymentId = randomUUID();
    const input = { tenantId, paymentId, workflowId: `payment-${paymentId}`, amountMinor: 4321, currency: 'EUR' as const, effectiveAt: new Date().toISOString() };

    const entryId = await activities.postPaymentEntry(input);
    expect(await entry(tenantId, entryId)).toEqual({ accounting_date: openFrom, description: expect.stringMatching(/^Card payment captured \(dated \d{4}-\d{2}-\d{2}: that period is closed\)$/) });
    await expect(activities.postPaymentEntry(input)).resolves.toBe(entryId);
    expect(await clearing(tenantId)).toBe(4321);
  });

  it('reversePaymentEntry books the reversal in the first open period when the charge was booked before the close', async () => {
    const tenantId = await books();
    const paymentId = randomUUID();
    const workflowId = `payment-${paymentId}`;
    const entryId = await activities.postPaymentEntry({ tenantId, paymentId, workflowId, amountMinor: 555, currency: 'EUR', effectiveAt: new Date().toISOString() });
    const openFrom = await closeThroughToday(tenantId);
    const reversal = { tenantId, paymentId, workflowId, entryId, effectiveAt: new Date().toISOString() };

    await activities.reversePaymentEntry(reversal);
    await expect(activities.reversePaymentEntry(reversal)).resolves.toBeUndefined();
    const { rows } = await withTenant(db, tenantId, (tx) => tx.query<{ id: string }>('SELECT id FROM journal_entries WHERE reverses = $1', [entryId]));
    expect(rows).toHaveLength(1);
    expect(await entry(tenantId, rows[0]!.id)).toEqual({ accounting_date: openFrom, description: expect.stringMatching(/^Reversal: payment compensated \(dated .*: that period is closed\)$/) });
    expect(await clearing(tenantId)).toBe(0);
  });
});
