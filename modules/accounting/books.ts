/**
 * Report reads: balances as of a date, movements and cash flows of a range, one account's postings, the rates in
 * force. Balances come from the latest closing snapshot (ledger_balance_snapshots, written when a period closes)
 * plus the postings dated after it, so a report's cost follows the open periods, not the whole history. Range
 * reads select entries by their accounting date (index journal_entries_date) and then their postings.
 */
import { CURRENCIES, type Currency } from '../../core/money';
import type { AccountAmount, CashFlows, FxRate, LedgerPosting } from '../../core/accounting';
import type { PoolClient } from './db';

export interface TenantInfo {
  id: string;
  name: string;
  timeZone: string;
  reportingCurrency: Currency | null;
}

export async function tenantInfo(tx: PoolClient, tenantId: string): Promise<TenantInfo> {
  const { rows } = await tx.query<{ name: string; time_zone: string; reporting_currency: Currency | null }>(
    'SELECT name, time_zone, reporting_currency FROM tenants WHERE id = $1',
    [tenantId],
  );
  const r = rows[0]!;
  return { id: tenantId, name: r.name, timeZone: r.time_zone, reportingCurrency: r.reporting_currency?.trim() as Currency | null };
}

const amounts = (rows: { account_id: string; currency: string; dmc: string }[]): AccountAmount[] =>
  rows.map((r) => ({ accountId: r.account_id, currency: r.currency.trim() as Currency, dmc: BigInt(r.dmc) }));

/**
 * Debits minus credits per account and currency of everything dated on or before `asOf` (or before it, with
 * `exclusive`): the latest snapshot at or before that day, plus the postings after the snapshot up to the day.
 * (A snapshot dated the day itself already holds the whole day.)
 */
export async function balancesAsOf(
  tx: PoolClient,
  tenantId: string,
  asOf: string,
  opts: { exclusive?: boolean; accountId?: string } = {},
): Promise<{ balances: AccountAmount[]; snapshotAsOf: string | null }> {
  const day = await tx.query<{ d: string; snapshot: string | null }>(
    `SELECT to_char($2::date - $3::int, 'YYYY-MM-DD') AS d,
            (SELECT to_char(max(as_of), 'YYYY-MM-DD') FROM ledger_balance_snapshots WHERE tenant_id = $1 AND as_of <= $2::date - $3::int) AS snapshot`,
    [tenantId, asOf, opts.exclusive ? 1 : 0],
  );
  const { d, snapshot } = day.rows[0]!;
  // Postings since the snapshot: one account's through its (account, currency, date) index, all accounts' through
  // the entries of those dates.
  const one = opts.accountId !== undefined;
  const since = one
    ? `SELECT p.account_id, p.currency, p.amount_minor FROM postings p
        WHERE p.tenant_id = $1 AND p.account_id = $4 AND p.currency = ANY($5::char(3)[])
          AND p.accounting_date > coalesce($3::date, '-infinity') AND p.accounting_date <= $2::date`
    : `SELECT p.account_id, p.currency, p.amount_minor FROM journal_entries e JOIN postings p ON p.entry_id = e.id AND p.tenant_id = e.tenant_id
        WHERE e.tenant_id = $1 AND e.accounting_date > coalesce($3::date, '-infinity') AND e.accounting_date <= $2::date`;
  const { rows } = await tx.query<{ account_id: string; currency: string; dmc: string }>(
    `SELECT b.account_id, b.currency, sum(b.x)::text AS dmc
       FROM (SELECT s.account_id, s.currency, s.debit_minus_credit AS x FROM ledger_balance_snapshots s
              WHERE s.tenant_id = $1 AND s.as_of = $3::date ${one ? 'AND s.account_id = $4' : ''}
             UNION ALL
             ${since}) b
      GROUP BY b.account_id, b.currency
     HAVING sum(b.x) <> 0`,
    one ? [tenantId, d, snapshot, opts.accountId, CURRENCIES] : [tenantId, d, snapshot],
  );
  return { balances: amounts(rows), snapshotAsOf: snapshot };
}

/** Debits minus credits per account and currency of the entries dated from..to, closing entries left out on request. */
export async function movements(tx: PoolClient, tenantId: string, from: string, to: string, opts: { excludeClosing: boolean }): Promise<AccountAmount[]> {
  const { rows } = await tx.query<{ account_id: string; currency: string; dmc: string }>(
    `SELECT p.account_id, p.currency, sum(p.amount_minor)::text AS dmc
       FROM journal_entries e JOIN postings p ON p.entry_id = e.id AND p.tenant_id = e.tenant_id
      WHERE e.tenant_id = $1 AND e.accounting_date BETWEEN $2::date AND $3::date AND (NOT $4 OR e.kind <> 'closing')
      GROUP BY p.account_id, p.currency
     HAVING sum(p.amount_minor) <> 0`,
    [tenantId, from, to, opts.excludeClosing],
  );
  return amounts(rows);
}

/** Money in (debits) and out (credits) of the cash accounts, per currency, in from..to. */
export async function cashFlows(tx: PoolClient, tenantId: string, from: string, to: string): Promise<(CashFlows & { currency: Currency })[]> {
  const { rows } = await tx.query<{ account_id: string; currency: string; inflows: string; outflows: string }>(
    `SELECT p.account_id, p.currency,
            coalesce(sum(p.amount_minor) FILTER (WHERE p.amount_minor > 0), 0)::text AS inflows,
            coalesce(-sum(p.amount_minor) FILTER (WHERE p.amount_minor < 0), 0)::text AS outflows
       FROM journal_entries e
       JOIN postings p ON p.entry_id = e.id AND p.tenant_id = e.tenant_id
       JOIN ledger_accounts a ON a.id = p.account_id AND a.is_cash
      WHERE e.tenant_id = $1 AND e.accounting_date BETWEEN $2::date AND $3::date
      GROUP BY p.account_id, p.currency`,
    [tenantId, from, to],
  );
  return rows.map((r) => ({ accountId: r.account_id, currency: r.currency.trim() as Currency, inflowsMinor: BigInt(r.inflows), outflowsMinor: BigInt(r.outflows) }));
}

/** One account's postings in from..to, per currency in date order; at most `limit` (the caller refuses more). */
export async function accountPostings(tx: PoolClient, tenantId: string, accountId: string, from: string, to: string, limit: number) {
  const { rows } = await tx.query<{ entry_id: string; accounting_date: string; currency: string; amount: string; description: string; kind: string }>(
    `SELECT p.entry_id, to_char(p.accounting_date, 'YYYY-MM-DD') AS accounting_date, p.currency, p.amount_minor::text AS amount, e.description, e.kind
       FROM postings p JOIN journal_entries e ON e.id = p.entry_id AND e.tenant_id = p.tenant_id
      WHERE p.tenant_id = $1 AND p.account_id = $2 AND p.currency = ANY($5::char(3)[]) AND p.accounting_date BETWEEN $3::date AND $4::date
      ORDER BY p.currency, p.accounting_date, e.posted_at, p.id
      LIMIT $6`,
    [tenantId, accountId, from, to, CURRENCIES, limit],
  );
  return rows.map((r): LedgerPosting & { currency: Currency } => ({
    entryId: r.entry_id,
    accountingDate: r.accounting_date,
    currency: r.currency.trim() as Currency,
    description: r.description,
    kind: r.kind,
    dmc: BigInt(r.amount),
  }));
}

/** The latest rate on or before `asOf` of each quoted pair (the report picks the direction it needs). */
export async function ratesInForce(tx: PoolClient, tenantId: string, asOf: string): Promise<FxRate[]> {
  const { rows } = await tx.query<{ base: Currency; quote: Currency; rate_date: string; rate: string }>(
    `SELECT DISTINCT ON (base, quote) base, quote, to_char(rate_date, 'YYYY-MM-DD') AS rate_date, rate::text AS rate
       FROM fx_rates WHERE tenant_id = $1 AND rate_date <= $2::date
      ORDER BY base, quote, rate_date DESC`,
    [tenantId, asOf],
  );
  return rows.map((r) => ({ base: r.base, quote: r.quote, rateDate: r.rate_date, rate: trimDecimal(r.rate) }));
}

/** "160.000000000000" -> "160", "0.006400000000" -> "0.0064". */
export const trimDecimal = (s: string) => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
