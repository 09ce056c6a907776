/**
 * The holes a review found in the v1 ledger, each written as the attack or fault that got through, now refused by
 * PostgreSQL itself (migrations/*_ledger-v2.sql): late postings after the balance check, period boundaries in the
 * session's time zone, a close racing an in-flight posting, the app role reopening or overlapping periods, gaps in
 * the period table, any currency code, non-mirroring reversals, retries compared by source only, sums through
 * Number, triggers that can be switched off.
 */
import { randomUUID } from 'node:crypto';
import { money, type Currency } from '../../core/money';
import { createPool, withTenant, type Pool } from '../../platform/db/pool';
import { accountBalance, ensurePeriods, postJournalEntry, reverseJournalEntry, setPeriodStatus } from '../../platform/ledger';
import { testConfig } from '../support/env';
import { saleEntry, tenantWithChart } from '../support/ledger';
import { eventually } from '../support/eventually';

const cfg = testConfig();
let app: Pool;
let owner: Pool;

beforeAll(async () => {
  app = createPool(cfg.DATABASE_URL, 6);
  owner = createPool(cfg.DATABASE_MIGRATION_URL, 2);
});
afterAll(async () => {
  await app.end();
  await owner.end();
});

const newTenant = (timeZone = 'UTC') => tenantWithChart(app, { timeZone, owner });
const sale = (tenantId: string, amountMinor: number, effectiveAt = new Date(), currency: Currency = 'EUR') => saleEntry(tenantId, amountMinor, { effectiveAt, currency });

const entryCount = (tenantId: string, id: string) =>
  withTenant(owner, tenantId, async (tx) => (await tx.query('SELECT 1 FROM journal_entries WHERE id = $1', [id])).rowCount);

describe('the ledger v2 invariants', () => {
  it('refuses a posting added after the balance check in the same transaction (v1 committed an entry summing to 1)', async () => {
    const tenantId = await newTenant();
    const entry = sale(tenantId, 500);
    const attack = withTenant(app, tenantId, async (tx) => {
      await postJournalEntry(tx, entry);
      const { rows } = await tx.query("SELECT id FROM ledger_accounts WHERE system_key = 'cash'");
      await tx.query("INSERT INTO postings (tenant_id, entry_id, account_id, currency, amount_minor, accounting_date) VALUES ($1, $2, $3, 'EUR', 1, current_date)", [tenantId, entry.id, rows[0].id]);
    });
    await expect(attack).rejects.toThrow(/permission denied for table postings/);
    expect(await entryCount(tenantId, entry.id)).toBe(0);
    // Nor can the app role write its own posted_at or created_txid: it inserts no ledger row at all.
    const forged = withTenant(app, tenantId, (tx) =>
      tx.query(
        "INSERT INTO journal_entries (id, tenant_id, effective_at, accounting_date, posted_at, created_txid, description, source_type, source_id) VALUES ($1, $2, now(), current_date, '2000-01-01', 1, 'x', 'test', 'x')",
        [randomUUID(), tenantId],
      ),
    );
    await expect(forged).rejects.toThrow(/permission denied/);
  });

  it('dates an entry in the tenant’s time zone: the last second of January in Taipei is January, the next is February', async () => {
    const tenantId = await newTenant('Asia/Taipei');
    await withTenant(app, tenantId, async (tx) => {
      await ensurePeriods(tx, '2026-01-01', 1);
      await setPeriodStatus(tx, { periodStart: '2026-01-01', action: 'close', actor: 'test' });
    });
    // 2026-01-31 23:59:59 in Taipei (UTC+8) is 15:59:59Z: January, closed.
    await expect(withTenant(app, tenantId, (tx) => postJournalEntry(tx, sale(tenantId, 100, new Date('2026-01-31T15:59:59Z'))))).rejects.toMatchObject({ code: 'closed-period' });
    // 2026-02-01 00:00:00 in Taipei is 16:00:00Z on January 31st in UTC: February, open.
    const feb = sale(tenantId, 100, new Date('2026-01-31T16:00:00Z'));
    expect(await withTenant(app, tenantId, (tx) => postJournalEntry(tx, feb))).toBe('posted');
    const { rows } = await withTenant(app, tenantId, (tx) =>
      tx.query<{ d: string }>("SELECT to_char(accounting_date, 'YYYY-MM-DD') AS d FROM journal_entries WHERE id = $1", [feb.id]),
    );
    expect(rows[0]!.d).toBe('2026-02-01');
  });

  it('makes a close wait for a posting in flight into its period, and a posting after the close see it', async () => {
    const tenantId = await newTenant();
    await withTenant(app, tenantId, (tx) => ensurePeriods(tx, '2025-03-01', 0));
    const inFlight = await app.connect();
    const closer = await app.connect();
    try {
      await inFlight.query('BEGIN');
      await inFlight.query("SELECT set_config('finflow.tenant_id', $1, true)", [tenantId]);
      const early = sale(tenantId, 700, new Date('2025-03-15T12:00:00Z'));
      await postJournalEntry(inFlight, early);
      const closerPid = (await closer.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      await closer.query('BEGIN');
      await closer.query("SELECT set_config('finflow.tenant_id', $1, true)", [tenantId]);
      const closing = setPeriodStatus(closer, { periodStart: '2025-03-01', action: 'close', actor: 'test' });
      // The close waits on the period lock the uncommitted posting holds shared.
      await eventually('the close to wait on the period lock', async () => {
        const { rows } = await app.query<{ wait: string | null }>('SELECT wait_event_type AS wait FROM pg_stat_activity WHERE pid = $1', [closerPid]); // same role: its wait is visible
        return rows[0]?.wait === 'Lock';
      });
      await inFlight.query('COMMIT');
      expect(await closing).toMatchObject({ status: 'closed' });
      await closer.query('COMMIT');
      // The closed period holds the posting that was in flight...
      expect(await withTenant(app, tenantId, (tx) => accountBalance(tx, 'provider_clearing', 'EUR', new Date('2025-03-31T23:59:59Z')))).toBe(700);
      // ...and nothing after.
      await expect(withTenant(app, tenantId, (tx) => postJournalEntry(tx, sale(tenantId, 1, new Date('2025-03-20T00:00:00Z'))))).rejects.toMatchObject({ code: 'closed-period' });
    } finally {
      await inFlight.query('ROLLBACK').catch(() => undefined);
      await closer.query('ROLLBACK').catch(() => undefined);
      inFlight.release();
      closer.release();
    }
  });

  it('lets the app role neither reopen nor insert periods; reopening is a function call with a reason, audited', async () => {
    const tenantId = await newTenant();
    await withTenant(app, tenantId, async (tx) => {
      await ensurePeriods(tx, '2024-05-01', 0);
      await setPeriodStatus(tx, { periodStart: '2024-05-01', action: 'close', actor: 'user:closer' });
    });
    await expect(withTenant(app, tenantId, (tx) => tx.query("UPDATE accounting_periods SET status = 'open' WHERE period_start = '2024-05-01'"))).rejects.toThrow(/permission denied/);
    await expect(
      withTenant(app, tenantId, (tx) => tx.query("INSERT INTO accounting_periods (tenant_id, period_start, period_end) VALUES ($1, '2024-06-01', '2024-06-30')", [tenantId])),
    ).rejects.toThrow(/permission denied/);
    await expect(withTenant(app, tenantId, (tx) => setPeriodStatus(tx, { periodStart: '2024-05-01', action: 'reopen', actor: 'user:admin' }))).rejects.toMatchObject({
      code: 'invalid-transition',
    });
    const reopened = await withTenant(app, tenantId, (tx) => setPeriodStatus(tx, { periodStart: '2024-05-01', action: 'reopen', actor: 'user:admin', reason: 'late supplier invoice' }));
    expect(reopened.status).toBe('open');
    const { rows } = await withTenant(app, tenantId, (tx) =>
      tx.query<{ action: string; from_status: string; actor: string; reason: string | null }>('SELECT action, from_status, actor, reason FROM accounting_period_events ORDER BY id'),
    );
    expect(rows).toEqual([
      { action: 'close', from_status: 'open', actor: 'user:closer', reason: null },
      { action: 'reopen', from_status: 'closed', actor: 'user:admin', reason: 'late supplier invoice' },
    ]);
    await expect(withTenant(owner, tenantId, (tx) => tx.query('DELETE FROM accounting_period_events'))).rejects.toThrow(/append-only/);
  });

  it('refuses overlapping periods, and treats a date with no period inside the closed history as closed', async () => {
    const tenantId = await newTenant();
    await withTenant(app, tenantId, async (tx) => {
      await ensurePeriods(tx, '2023-01-01', 0);
      await setPeriodStatus(tx, { periodStart: '2023-01-01', action: 'close', actor: 'test' });
    });
    // An overlapping period, even from the schema owner.
    await expect(
      withTenant(owner, tenantId, (tx) => tx.query("INSERT INTO accounting_periods (tenant_id, period_start, period_end) VALUES ($1, '2023-01-15', '2023-02-14')", [tenantId])),
    ).rejects.toThrow(/accounting_periods_no_overlap/);
    // No row for 2022-12: it lies before the closed January, so it is closed, not open.
    await expect(withTenant(app, tenantId, (tx) => postJournalEntry(tx, sale(tenantId, 5, new Date('2022-12-10T00:00:00Z'))))).rejects.toMatchObject({ code: 'closed-period' });
    // A date after the closed history gets its month created, open.
    expect(await withTenant(app, tenantId, (tx) => postJournalEntry(tx, sale(tenantId, 5, new Date('2023-03-10T00:00:00Z'))))).toBe('posted');
    const { rows } = await withTenant(app, tenantId, (tx) => tx.query<{ s: string }>("SELECT to_char(period_start, 'YYYY-MM-DD') AS s, status FROM accounting_periods ORDER BY period_start"));
    expect(rows).toEqual([{ s: '2023-01-01', status: 'closed' }, { s: '2023-03-01', status: 'open' }]);
  });

  it('refuses a currency that is not ISO 4217, even from raw SQL by the owner', async () => {
    const tenantId = await newTenant();
    const entry = sale(tenantId, 100);
    (entry.postings[0]!.amount as { currency: string }).currency = 'XXY';
    (entry.postings[1]!.amount as { currency: string }).currency = 'XXY';
    await expect(withTenant(app, tenantId, (tx) => postJournalEntry(tx, entry))).rejects.toMatchObject({ code: 'invalid-entry', message: expect.stringMatching(/unknown currency XXY/) });
    const hold = withTenant(owner, tenantId, async (tx) => {
      const { rows } = await tx.query("SELECT id FROM ledger_accounts WHERE system_key = 'cash'");
      await tx.query("INSERT INTO ledger_holds (id, tenant_id, account_id, currency, amount_minor, source_type, source_id, expires_at) VALUES ($1, $2, $3, 'XXY', 1, 't', 't', now())", [randomUUID(), tenantId, rows[0].id]);
    });
    await expect(hold).rejects.toThrow(/ledger_holds_currency_iso/);
  });

  it('posts a reversal only as the exact mirror of its original', async () => {
    const tenantId = await newTenant();
    const original = sale(tenantId, 900);
    await withTenant(app, tenantId, (tx) => postJournalEntry(tx, original));
    const { rows } = await withTenant(app, tenantId, (tx) => tx.query<{ account_id: string; currency: string; amount_minor: string }>('SELECT account_id, currency, amount_minor FROM postings WHERE entry_id = $1', [original.id]));
    const notMirror = {
      id: randomUUID(),
      effectiveAt: new Date().toISOString(),
      description: 'reversal',
      source: original.source,
      kind: 'reversal',
      reverses: original.id,
      postings: rows.map((r) => ({ accountId: r.account_id, currency: r.currency, amountMinor: -Number(r.amount_minor) / 9 })),
    };
    await expect(withTenant(app, tenantId, (tx) => tx.query('SELECT ledger_post($1::jsonb)', [JSON.stringify(notMirror)]))).rejects.toMatchObject({ hint: 'invalid-entry' });
    const wrongSign = { ...notMirror, postings: rows.map((r) => ({ accountId: r.account_id, currency: r.currency, amountMinor: Number(r.amount_minor) })) };
    await expect(withTenant(app, tenantId, (tx) => tx.query('SELECT ledger_post($1::jsonb)', [JSON.stringify(wrongSign)]))).rejects.toMatchObject({ hint: 'invalid-entry', message: expect.stringMatching(/mirror/) });
    const mirror = { ...notMirror, postings: rows.map((r) => ({ accountId: r.account_id, currency: r.currency, amountMinor: -Number(r.amount_minor) })) };
    await withTenant(app, tenantId, (tx) => tx.query('SELECT ledger_post($1::jsonb)', [JSON.stringify(mirror)]));
    expect(await withTenant(app, tenantId, (tx) => accountBalance(tx, 'provider_clearing', 'EUR'))).toBe(0);
  });

  it('compares a retried entry by its whole content: the same id and source with other amounts is a conflict', async () => {
    const tenantId = await newTenant();
    const entry = sale(tenantId, 1000);
    await withTenant(app, tenantId, (tx) => postJournalEntry(tx, entry));
    const other = { ...entry, postings: [
      { account: { systemKey: 'provider_clearing' }, amount: money(2000, 'EUR') },
      { account: { systemKey: 'sales_revenue' }, amount: money(-2000, 'EUR') },
    ] };
    await expect(withTenant(app, tenantId, (tx) => postJournalEntry(tx, other))).rejects.toMatchObject({ code: 'conflicting-entry' });
    // The same content, with the accounts named by id instead of system key, is the same entry.
    const ids = await withTenant(app, tenantId, (tx) => tx.query<{ system_key: string; id: string }>("SELECT system_key, id FROM ledger_accounts WHERE system_key IN ('provider_clearing', 'sales_revenue')"));
    const byId = Object.fromEntries(ids.rows.map((r) => [r.system_key, r.id]));
    const same = { ...entry, postings: entry.postings.map((p) => ({ ...p, account: { accountId: byId[(p.account as { systemKey: string }).systemKey]! } })) };
    expect(await withTenant(app, tenantId, (tx) => postJournalEntry(tx, same))).toBe('already-posted');
    expect(await withTenant(app, tenantId, (tx) => accountBalance(tx, 'provider_clearing', 'EUR'))).toBe(1000);
  });

  it('never rounds a balance above 2^53 minor units through Number: it refuses it', async () => {
    const tenantId = await newTenant();
    const big = Number.MAX_SAFE_INTEGER; // 9007199254740991
    await withTenant(app, tenantId, (tx) => postJournalEntry(tx, sale(tenantId, big)));
    await withTenant(app, tenantId, (tx) => postJournalEntry(tx, sale(tenantId, 2)));
    // The exact sum is 9007199254740993, which a double cannot hold (it would read 9007199254740992).
    await expect(withTenant(app, tenantId, (tx) => accountBalance(tx, 'provider_clearing', 'EUR'))).rejects.toThrow(/exceeds 2\^53/);
    const { rows } = await withTenant(app, tenantId, (tx) => tx.query<{ s: string }>("SELECT sum(amount_minor)::text AS s FROM postings p JOIN ledger_accounts a ON a.id = p.account_id WHERE a.system_key = 'provider_clearing'"));
    expect(rows[0]!.s).toBe('9007199254740993');
  });

  it('keeps its guard triggers enabled ALWAYS (they fire under session_replication_role = replica too)', async () => {
    const { rows } = await owner.query<{ tgname: string; tgenabled: string }>(
      `SELECT tgname, tgenabled FROM pg_trigger
        WHERE tgrelid IN ('journal_entries'::regclass, 'postings'::regclass, 'accounting_period_events'::regclass) AND NOT tgisinternal ORDER BY tgname`,
    );
    expect(rows.map((r) => r.tgname)).toEqual(
      expect.arrayContaining(['journal_entries_append_only', 'postings_append_only', 'journal_entries_written_by_ledger_post', 'postings_written_by_ledger_post']),
    );
    for (const r of rows) expect({ trigger: r.tgname, enabled: r.tgenabled }).toEqual({ trigger: r.tgname, enabled: 'A' });
  });

  it('reverses through the database: the mirror is built there, once', async () => {
    const tenantId = await newTenant();
    const entry = sale(tenantId, 333, new Date(), 'JPY');
    await withTenant(app, tenantId, (tx) => postJournalEntry(tx, entry));
    const reversal = { id: randomUUID(), tenantId, entryId: entry.id, effectiveAt: new Date(), description: 'refund', source: entry.source };
    expect(await withTenant(app, tenantId, (tx) => reverseJournalEntry(tx, reversal))).toBe('posted');
    expect(await withTenant(app, tenantId, (tx) => reverseJournalEntry(tx, reversal))).toBe('already-posted');
    await expect(withTenant(app, tenantId, (tx) => reverseJournalEntry(tx, { ...reversal, id: randomUUID() }))).rejects.toMatchObject({ code: 'already-reversed' });
    await expect(withTenant(app, tenantId, (tx) => reverseJournalEntry(tx, { ...reversal, id: randomUUID(), entryId: randomUUID() }))).rejects.toMatchObject({ code: 'unknown-entry' });
    expect(await withTenant(app, tenantId, (tx) => accountBalance(tx, 'provider_clearing', 'JPY'))).toBe(0);
  });
});

