/**
 * The accounting core in the database (migrations/*_accounting-core.sql): the chart of accounts and its rules,
 * maker-checker for manual entries, and the balance snapshot a period close writes.
 */
import { randomUUID } from 'node:crypto';
import { createPool, withTenant, type Pool } from '../../platform/db/pool';
import { ensurePeriods, postJournalEntry, setPeriodStatus } from '../../platform/ledger';
import { testConfig } from '../support/env';
import { saleEntry, tenantWithChart } from '../support/ledger';

const cfg = testConfig();
let app: Pool;
let owner: Pool;

beforeAll(async () => {
  app = createPool(cfg.DATABASE_URL, 4);
  owner = createPool(cfg.DATABASE_MIGRATION_URL, 2);
});
afterAll(async () => {
  await app.end();
  await owner.end();
});

const newTenant = () => tenantWithChart(app);

describe('the chart of accounts', () => {
  it('gives every tenant the system accounts with their subtypes and normal balances', async () => {
    const tenantId = await newTenant();
    const { rows } = await withTenant(app, tenantId, (tx) =>
      tx.query<{ system_key: string; subtype: string; normal_balance: string; is_cash: boolean }>('SELECT system_key, subtype, normal_balance, is_cash FROM ledger_accounts ORDER BY code'),
    );
    const byKey = Object.fromEntries(rows.map((r) => [r.system_key, r]));
    for (const key of ['accounts_receivable', 'tax_payable', 'customer_credit', 'bad_debt_expense', 'allowance_doubtful', 'fx_gain_loss', 'rounding', 'retained_earnings', 'suspense']) {
      expect(byKey[key]).toBeDefined();
    }
    expect(byKey.cash).toMatchObject({ subtype: 'current_asset', normal_balance: 'debit', is_cash: true });
    expect(byKey.allowance_doubtful).toMatchObject({ subtype: 'contra_asset', normal_balance: 'credit' });
    expect(byKey.refunds).toMatchObject({ subtype: 'contra_revenue', normal_balance: 'debit' });
    expect(byKey.tax_payable).toMatchObject({ subtype: 'current_liability', normal_balance: 'credit' });
    expect(rows.filter((r) => r.is_cash).map((r) => r.system_key)).toEqual(['cash']);
  });

  it('takes tenant accounts with a suffixed code only, never a system key, and refuses a subtype outside its type', async () => {
    const tenantId = await newTenant();
    const add = (code: string, type: string, subtype: string, systemKey?: string) =>
      withTenant(app, tenantId, (tx) =>
        systemKey
          ? tx.query('INSERT INTO ledger_accounts (tenant_id, code, name, type, subtype, system_key) VALUES ($1, $2, $3, $4, $5, $6)', [tenantId, code, 'x', type, subtype, systemKey])
          : tx.query('INSERT INTO ledger_accounts (tenant_id, code, name, type, subtype) VALUES ($1, $2, $3, $4, $5)', [tenantId, code, 'x', type, subtype]),
      );
    await add('6100-TRAVEL', 'expense', 'expense');
    await expect(add('6150', 'expense', 'expense')).rejects.toThrow(/ledger_accounts_tenant_code/);
    await expect(add('6100-TRAVEL', 'expense', 'expense')).rejects.toThrow(/duplicate key/);
    await expect(add('6200-X', 'expense', 'current_asset')).rejects.toThrow(/ledger_accounts_subtype/);
    await expect(add('6300', 'expense', 'expense', 'my_cash')).rejects.toThrow(/permission denied/);
  });
});

describe('manual journal entries', () => {
  const draft = async (tenantId: string, maker: string) => {
    const id = randomUUID();
    await withTenant(app, tenantId, (tx) =>
      tx.query('INSERT INTO journal_entry_drafts (id, tenant_id, kind, effective_at, description, postings, created_by) VALUES ($1, $2, $3, now(), $4, $5, $6)', [
        id,
        tenantId,
        'adjusting',
        'accrue December rent',
        JSON.stringify([
          { systemKey: 'processing_fees', currency: 'EUR', amountMinor: 12_000 },
          { systemKey: 'customer_deposits', currency: 'EUR', amountMinor: -12_000 },
        ]),
        maker,
      ]),
    );
    return id;
  };
  const decide = (tenantId: string, id: string, decision: string, actor: string) =>
    withTenant(app, tenantId, async (tx) => (await tx.query<{ r: { status: string } }>('SELECT ledger_decide_draft($1, $2, $3) AS r', [id, decision, actor])).rows[0]!.r);

  it('posts a draft only when a different person approves it, once', async () => {
    const tenantId = await newTenant();
    const id = await draft(tenantId, 'user:maker');
    await expect(decide(tenantId, id, 'approve', 'user:maker')).rejects.toMatchObject({ hint: 'four-eyes' });
    expect(await decide(tenantId, id, 'approve', 'user:checker')).toMatchObject({ status: 'posted' });
    await expect(decide(tenantId, id, 'approve', 'user:checker')).rejects.toMatchObject({ hint: 'invalid-transition' });
    const { rows } = await withTenant(app, tenantId, (tx) => tx.query('SELECT kind, created_by, approved_by, source_type FROM journal_entries WHERE id = $1', [id]));
    expect(rows).toEqual([{ kind: 'adjusting', created_by: 'user:maker', approved_by: 'user:checker', source_type: 'manual' }]);
  });

  it('refuses a manual entry sent to ledger_post directly, and a draft the app role marks decided itself', async () => {
    const tenantId = await newTenant();
    const entry = {
      id: randomUUID(),
      effectiveAt: new Date().toISOString(),
      description: 'sneaky',
      source: { type: 'manual', id: 'x' },
      createdBy: 'user:a',
      approvedBy: 'user:b',
      postings: [
        { systemKey: 'cash', currency: 'EUR', amountMinor: 1 },
        { systemKey: 'sales_revenue', currency: 'EUR', amountMinor: -1 },
      ],
    };
    await expect(withTenant(app, tenantId, (tx) => tx.query('SELECT ledger_post($1::jsonb)', [JSON.stringify(entry)]))).rejects.toMatchObject({ hint: 'four-eyes' });
    const id = await draft(tenantId, 'user:maker');
    await expect(withTenant(app, tenantId, (tx) => tx.query("UPDATE journal_entry_drafts SET status = 'posted' WHERE id = $1", [id]))).rejects.toThrow(/permission denied/);
    expect(await decide(tenantId, id, 'reject', 'user:checker')).toMatchObject({ status: 'rejected' });
  });
});

describe('closing a period', () => {
  it('writes a balance snapshot of the period end, built on the previous one; reopening drops it', async () => {
    const tenantId = await newTenant();
    const post = (amount: number, at: string) => withTenant(app, tenantId, (tx) => postJournalEntry(tx, saleEntry(tenantId, amount, { effectiveAt: new Date(at), debit: 'cash' })));
    await withTenant(app, tenantId, (tx) => ensurePeriods(tx, '2025-01-01', 2));
    await post(1000, '2025-01-10T10:00:00Z');
    await post(250, '2025-02-10T10:00:00Z');
    const snapshot = (asOf: string) =>
      withTenant(app, tenantId, async (tx) =>
        (await tx.query<{ key: string; dmc: string }>('SELECT a.system_key AS key, s.debit_minus_credit::text AS dmc FROM ledger_balance_snapshots s JOIN ledger_accounts a ON a.id = s.account_id WHERE s.as_of = $1 ORDER BY 1', [asOf])).rows,
      );
    // Periods close in order.
    await expect(withTenant(app, tenantId, (tx) => setPeriodStatus(tx, { periodStart: '2025-02-01', action: 'close', actor: 'test' }))).rejects.toMatchObject({ code: 'invalid-transition' });
    await withTenant(app, tenantId, (tx) => setPeriodStatus(tx, { periodStart: '2025-01-01', action: 'close', actor: 'test' }));
    expect(await snapshot('2025-01-31')).toEqual([{ key: 'cash', dmc: '1000' }, { key: 'sales_revenue', dmc: '-1000' }]);
    await withTenant(app, tenantId, (tx) => setPeriodStatus(tx, { periodStart: '2025-02-01', action: 'close', actor: 'test' }));
    expect(await snapshot('2025-02-28')).toEqual([{ key: 'cash', dmc: '1250' }, { key: 'sales_revenue', dmc: '-1250' }]);
    await withTenant(app, tenantId, (tx) => setPeriodStatus(tx, { periodStart: '2025-02-01', action: 'reopen', actor: 'admin', reason: 'correction' }));
    expect(await snapshot('2025-02-28')).toEqual([]);
    expect(await snapshot('2025-01-31')).toHaveLength(2);
  });
});
