/**
 * The soft lock, enforced by the database: once a period is locked, ledger_post refuses every entry dated into it,
 * adjusting ones included, except adjusting entries by finance (a manual entry approved through maker-checker whose
 * maker or checker is an active finance user) and the period close's own entries (ledger_post_close). A closed
 * period takes nothing.
 */
import { randomUUID } from 'node:crypto';
import { createPool, withTenant, type Pool } from '../../../platform/db/pool';
import { postJournalEntry, setPeriodStatus } from '../../../platform/ledger';
import { testConfig } from '../../support/env';
import { saleEntry, tenantWithChart } from '../../support/ledger';

let app: Pool;
beforeAll(() => {
  app = createPool(testConfig().DATABASE_URL, 3);
});
afterAll(() => app.end());

const JAN = '2025-01-01';
const inJanuary = new Date('2025-01-20T12:00:00Z');

async function user(tenantId: string, role: string): Promise<string> {
  const { rows } = await withTenant(app, tenantId, (tx) =>
    tx.query<{ id: string }>("INSERT INTO users (tenant_id, email, display_name, password_hash, role) VALUES ($1, $2, 'x', 'x', $3) RETURNING id", [
      tenantId,
      `${role}-${randomUUID().slice(0, 8)}@example.test`,
      role,
    ]),
  );
  return `user:${rows[0]!.id}`;
}

/** A locked January with one sale in it, and users of each role that matters. */
async function lockedJanuary() {
  const tenantId = await tenantWithChart(app);
  await withTenant(app, tenantId, (tx) => postJournalEntry(tx, saleEntry(tenantId, 1_000, { effectiveAt: inJanuary })));
  await withTenant(app, tenantId, (tx) => setPeriodStatus(tx, { periodStart: JAN, action: 'lock', actor: 'user:someone' }));
  return { tenantId, finance: await user(tenantId, 'finance'), ops: await user(tenantId, 'ops'), ops2: await user(tenantId, 'ops') };
}

const accrual = [
  { systemKey: 'processing_fees', currency: 'EUR', amountMinor: 300 },
  { systemKey: 'customer_deposits', currency: 'EUR', amountMinor: -300 },
];

async function draftAndApprove(tenantId: string, maker: string, checker: string) {
  const id = randomUUID();
  await withTenant(app, tenantId, (tx) =>
    tx.query(
      'INSERT INTO journal_entry_drafts (id, tenant_id, kind, effective_at, accounting_date, description, postings, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
      [id, tenantId, 'adjusting', inJanuary, '2025-01-31', 'accrue January fees', JSON.stringify(accrual), maker],
    ),
  );
  return withTenant(app, tenantId, async (tx) => (await tx.query<{ r: { status: string } }>("SELECT ledger_decide_draft($1, 'approve', $2) AS r", [id, checker])).rows[0]!.r);
}

const entry = (over: Record<string, unknown>) => ({
  id: randomUUID(),
  effectiveAt: inJanuary.toISOString(),
  description: 'x',
  source: { type: 'system', id: randomUUID() },
  postings: accrual,
  ...over,
});
const post = (tenantId: string, fn: 'ledger_post' | 'ledger_post_close', body: object) =>
  withTenant(app, tenantId, async (tx) => (await tx.query<{ r: { status: string } }>(`SELECT ${fn}($1::jsonb) AS r`, [JSON.stringify(body)])).rows[0]!.r);

describe('a soft-locked period', () => {
  it('refuses a standard posting dated into it', async () => {
    const { tenantId } = await lockedJanuary();
    await expect(withTenant(app, tenantId, (tx) => postJournalEntry(tx, saleEntry(tenantId, 500, { effectiveAt: inJanuary })))).rejects.toMatchObject({ code: 'closed-period' });
  });

  it('refuses an adjusting entry that is not by finance: posted by the platform, or drafted and approved by ops', async () => {
    const { tenantId, ops, ops2 } = await lockedJanuary();
    await expect(post(tenantId, 'ledger_post', entry({ kind: 'adjusting' }))).rejects.toMatchObject({ hint: 'closed-period' });
    await expect(draftAndApprove(tenantId, ops, ops2)).rejects.toMatchObject({ hint: 'closed-period' });
  });

  it('accepts an adjusting entry by finance (drafted by finance, approved by another person), dated into the period', async () => {
    const { tenantId, finance, ops } = await lockedJanuary();
    expect(await draftAndApprove(tenantId, finance, ops)).toMatchObject({ status: 'posted' });
    const { rows } = await withTenant(app, tenantId, (tx) =>
      tx.query("SELECT to_char(accounting_date, 'YYYY-MM-DD') AS d, kind, source_type FROM journal_entries WHERE source_type = 'manual'"),
    );
    expect(rows).toEqual([{ d: '2025-01-31', kind: 'adjusting', source_type: 'manual' }]);
  });

  it("takes the close's own entries only through ledger_post_close, and nothing once closed", async () => {
    const { tenantId } = await lockedJanuary();
    const closeEntry = entry({ kind: 'adjusting', source: { type: 'period_close', id: 'period-close:x' } });
    await expect(post(tenantId, 'ledger_post', closeEntry)).rejects.toMatchObject({ hint: 'invalid-entry' });
    await expect(post(tenantId, 'ledger_post_close', entry({ kind: 'standard', source: { type: 'period_close', id: 'x' } }))).rejects.toMatchObject({ hint: 'invalid-entry' });
    await expect(post(tenantId, 'ledger_post_close', entry({ kind: 'adjusting' }))).rejects.toMatchObject({ hint: 'invalid-entry' });
    expect(await post(tenantId, 'ledger_post_close', closeEntry)).toMatchObject({ status: 'posted' });
    await withTenant(app, tenantId, (tx) => setPeriodStatus(tx, { periodStart: JAN, action: 'close', actor: 'user:someone' }));
    await expect(post(tenantId, 'ledger_post_close', { ...closeEntry, id: randomUUID() })).rejects.toMatchObject({ hint: 'closed-period' });
  });
});
