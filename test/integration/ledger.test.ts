/** The ledger's invariants, enforced by PostgreSQL: what the database refuses no code path can do. */
import { randomUUID } from 'node:crypto';
import { money } from '../../core/money';
import { createPool, withTenant, type Pool, type PoolClient } from '../../platform/db/pool';
import {
  accountBalance,
  availableBalance,
  balances,
  LedgerError,
  placeHold,
  postJournalEntry,
  reverseJournalEntry,
  settleHold,
  ensurePeriods,
  setPeriodStatus,
  type JournalEntryInput,
} from '../../platform/ledger';
import { createTenant, testConfig } from '../support/env';

const cfg = testConfig();
let app: Pool;
let owner: Pool;
let tenantId: string;

beforeAll(async () => {
  app = createPool(cfg.DATABASE_URL, 4);
  owner = createPool(cfg.DATABASE_MIGRATION_URL, 2);
  tenantId = await createTenant(app);
  await withTenant(app, tenantId, (tx) => tx.query('SELECT create_default_chart($1)', [tenantId]));
});
afterAll(async () => {
  await app.end();
  await owner.end();
});

const inTenant = <T>(fn: (tx: PoolClient) => Promise<T>, pool = app) => withTenant(pool, tenantId, fn);

function sale(amountMinor: number, currency: 'EUR' | 'USD' = 'EUR', effectiveAt = new Date()): JournalEntryInput {
  return {
    id: randomUUID(),
    tenantId,
    effectiveAt,
    description: 'card payment captured',
    source: { type: 'payment', id: randomUUID() },
    postings: [
      { account: { systemKey: 'provider_clearing' }, amount: money(amountMinor, currency) },
      { account: { systemKey: 'sales_revenue' }, amount: money(-amountMinor, currency) },
    ],
  };
}

const clearing = (currency: 'EUR' | 'USD' = 'EUR') => inTenant((tx) => accountBalance(tx, 'provider_clearing', currency));

describe('the ledger', () => {
  it('posts a balanced entry and shows balances in each account’s normal direction', async () => {
    const before = await clearing();
    await inTenant((tx) => postJournalEntry(tx, sale(1099)));
    expect(await clearing()).toBe(before + 1099);
    const revenue = (await inTenant((tx) => balances(tx))).find((b) => b.systemKey === 'sales_revenue' && b.currency === 'EUR')!;
    expect(revenue.balanceMinor).toBeGreaterThanOrEqual(1099);
    expect(revenue.debitMinusCredit).toBe(-revenue.balanceMinor);
  });

  it('refuses an entry that does not balance, and keeps nothing of it', async () => {
    const entry = sale(500);
    entry.postings[1]!.amount = money(-499, 'EUR');
    const error = await inTenant((tx) => postJournalEntry(tx, entry)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LedgerError);
    expect((error as LedgerError).code).toBe('unbalanced');
    expect(await inTenant((tx) => tx.query('SELECT 1 FROM journal_entries WHERE id = $1', [entry.id]))).toMatchObject({ rowCount: 0 });
  });

  it('refuses an entry balanced in total but not per currency', async () => {
    const entry = sale(100);
    entry.postings[1]!.amount = money(-100, 'USD');
    await expect(inTenant((tx) => postJournalEntry(tx, entry))).rejects.toMatchObject({ code: 'unbalanced' });
  });

  it('refuses an entry with a single posting, and raw SQL past ledger_post from the app role or the schema owner', async () => {
    const entry = sale(100);
    entry.postings = entry.postings.slice(0, 1);
    await expect(inTenant((tx) => postJournalEntry(tx, entry))).rejects.toMatchObject({ code: 'unbalanced', message: expect.stringMatching(/needs at least two/) });
    const rawEntry = (tx: PoolClient) =>
      tx.query("INSERT INTO journal_entries (id, tenant_id, effective_at, accounting_date, description, source_type, source_id) VALUES ($1, $2, now(), current_date, 'x', 'test', 'x')", [randomUUID(), tenantId]);
    await expect(inTenant(rawEntry)).rejects.toThrow(/permission denied for table journal_entries/);
    await expect(inTenant(rawEntry, owner)).rejects.toThrow(/written only by ledger_post/);
  });

  it('posts a step once, however often it is retried', async () => {
    const entry = sale(250);
    const before = await clearing();
    expect(await inTenant((tx) => postJournalEntry(tx, entry))).toBe('posted');
    expect(await inTenant((tx) => postJournalEntry(tx, entry))).toBe('already-posted');
    expect(await clearing()).toBe(before + 250);
  });

  it('refuses to reuse an entry id for a different source', async () => {
    const entry = sale(10);
    await inTenant((tx) => postJournalEntry(tx, entry));
    await expect(inTenant((tx) => postJournalEntry(tx, { ...entry, source: { type: 'payment', id: 'other' } }))).rejects.toMatchObject({ code: 'conflicting-entry' });
  });

  it('is append-only: updates, deletes and late postings are refused, even for the schema owner', async () => {
    const entry = sale(300);
    await inTenant((tx) => postJournalEntry(tx, entry));
    await expect(inTenant((tx) => tx.query('UPDATE postings SET amount_minor = 1 WHERE entry_id = $1', [entry.id]), owner)).rejects.toThrow(/append-only/);
    await expect(inTenant((tx) => tx.query('DELETE FROM journal_entries WHERE id = $1', [entry.id]), owner)).rejects.toThrow(/append-only/);
    await expect(inTenant((tx) => tx.query('UPDATE postings SET amount_minor = 1 WHERE entry_id = $1', [entry.id]))).rejects.toThrow(/permission denied/);
    const late = (pool: Pool) =>
      inTenant(async (tx) => {
        const { rows } = await tx.query("SELECT id FROM ledger_accounts WHERE system_key = 'cash'");
        await tx.query("INSERT INTO postings (tenant_id, entry_id, account_id, currency, amount_minor, accounting_date) VALUES ($1, $2, $3, 'EUR', 1, current_date)", [tenantId, entry.id, rows[0].id]);
      }, pool);
    await expect(late(app)).rejects.toThrow(/permission denied for table postings/);
    await expect(late(owner)).rejects.toThrow(/written only by ledger_post/);
  });

  it('corrects by a reversing entry, once', async () => {
    const entry = sale(777);
    const before = await clearing();
    await inTenant((tx) => postJournalEntry(tx, entry));
    const reversal = { id: randomUUID(), tenantId, entryId: entry.id, effectiveAt: new Date(), description: 'reversal', source: entry.source };
    expect(await inTenant((tx) => reverseJournalEntry(tx, reversal))).toBe('posted');
    expect(await inTenant((tx) => reverseJournalEntry(tx, reversal))).toBe('already-posted');
    expect(await clearing()).toBe(before);
    await expect(inTenant((tx) => reverseJournalEntry(tx, { ...reversal, id: randomUUID() }))).rejects.toMatchObject({ code: 'already-reversed' });
  });

  it('refuses postings into a closed period', async () => {
    await inTenant(async (tx) => {
      await ensurePeriods(tx, '2020-01-01', 0);
      await setPeriodStatus(tx, { periodStart: '2020-01-01', action: 'close', actor: 'test' });
    });
    const error = await inTenant((tx) => postJournalEntry(tx, sale(100, 'EUR', new Date('2020-01-15T12:00:00Z')))).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'closed-period' });
    expect(await inTenant((tx) => postJournalEntry(tx, sale(100, 'EUR', new Date('2020-02-01T00:00:00Z'))))).toBe('posted');
  });

  it('gives balances as of a date', async () => {
    const t = new Date('2021-06-30T00:00:00Z');
    const asOfBefore = await inTenant((tx) => accountBalance(tx, 'provider_clearing', 'USD', t));
    await inTenant((tx) => postJournalEntry(tx, sale(4000, 'USD', new Date('2021-06-01T00:00:00Z'))));
    await inTenant((tx) => postJournalEntry(tx, sale(6000, 'USD', new Date('2021-07-01T00:00:00Z'))));
    expect(await inTenant((tx) => accountBalance(tx, 'provider_clearing', 'USD', t))).toBe(asOfBefore + 4000);
  });

  it('reduces the available balance by active holds, and settles a hold only once', async () => {
    const before = await inTenant((tx) => availableBalance(tx, 'provider_clearing', 'EUR'));
    const hold = { id: randomUUID(), tenantId, account: { systemKey: 'provider_clearing' }, amount: money(900, 'EUR'), expiresAt: new Date(Date.now() + 86_400_000), source: { type: 'payment', id: 'p1' } };
    await inTenant((tx) => placeHold(tx, hold));
    await inTenant((tx) => placeHold(tx, hold)); // idempotent
    expect(await inTenant((tx) => availableBalance(tx, 'provider_clearing', 'EUR'))).toBe(before - 900);
    await inTenant((tx) => settleHold(tx, hold.id, 'released'));
    await inTenant((tx) => settleHold(tx, hold.id, 'released')); // idempotent
    expect(await inTenant((tx) => availableBalance(tx, 'provider_clearing', 'EUR'))).toBe(before);
    await expect(inTenant((tx) => settleHold(tx, hold.id, 'captured'))).rejects.toMatchObject({ code: 'conflicting-entry' });
  });
});
