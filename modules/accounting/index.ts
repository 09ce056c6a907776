/**
 * The accounting module: the only code that reads and writes the accounting tables (chart, drafts, rates,
 * snapshots, and the ledger for reports). Entries themselves are written by platform/ledger's ledger_post.
 */
import type { Currency } from '../../core/money';
import type { ChartAccount, FxRate } from '../../core/accounting';
import { accountPostings, balancesAsOf, cashFlows, movements, ratesInForce, tenantInfo, type TenantInfo } from './books';
import { accountById, chartOfAccounts, insertAccount, type NewAccount } from './chart';
import { readSnapshot, withTenant, type Pool } from './db';
import { decideDraft, insertDraft, listDrafts, type DraftView, type NewDraft } from './drafts';
import { journalPage, type JournalPosition } from './journal';
import { listPeriods, movePeriod, readSettings, updateSettings, type AccountingSettings, type PeriodView } from './periods';
import { listRates, upsertRate } from './rates';

export type { DraftView, NewDraft } from './drafts';
export type { JournalEntryView, JournalPosition } from './journal';
export type { RateView } from './rates';
export type { TenantInfo } from './books';
export type { NewAccount } from './chart';
export type { AccountingSettings, PeriodEvent, PeriodView } from './periods';
/** The period closes (period_closes) and the ledger reads and writes PeriodClose's activities make, in a tenant's transaction. */
export * as periodCloses from './closes';
export type { CloseSnapshot, CloseView } from './closes';
export { withTenant } from './db';

/** What a report reads, all from one consistent snapshot of the tenant's books. */
export interface BooksReader {
  tenant(): Promise<TenantInfo>;
  chart(): Promise<ChartAccount[]>;
  account(id: string): Promise<ChartAccount | undefined>;
  balancesAsOf(asOf: string, opts?: { exclusive?: boolean; accountId?: string }): ReturnType<typeof balancesAsOf>;
  movements(from: string, to: string, opts: { excludeClosing: boolean }): ReturnType<typeof movements>;
  cashFlows(from: string, to: string): ReturnType<typeof cashFlows>;
  accountPostings(accountId: string, from: string, to: string, limit: number): ReturnType<typeof accountPostings>;
  ratesInForce(asOf: string): Promise<FxRate[]>;
  journalPage(q: { from: string; to: string; after?: JournalPosition; limit: number }): ReturnType<typeof journalPage>;
}

export class AccountingModule {
  constructor(private readonly db: Pool) {}

  accounts(tenantId: string): Promise<ChartAccount[]> {
    return withTenant(this.db, tenantId, chartOfAccounts);
  }

  createAccount(tenantId: string, account: NewAccount): Promise<ChartAccount> {
    return withTenant(this.db, tenantId, (tx) => insertAccount(tx, tenantId, account));
  }

  createDraft(tenantId: string, draft: NewDraft): Promise<DraftView> {
    return withTenant(this.db, tenantId, (tx) => insertDraft(tx, tenantId, draft));
  }

  drafts(tenantId: string, status: DraftView['status'] | undefined, limit: number): Promise<DraftView[]> {
    return withTenant(this.db, tenantId, (tx) => listDrafts(tx, status, limit));
  }

  decideDraft(tenantId: string, id: string, decision: 'approve' | 'reject', actor: string, reason?: string): Promise<DraftView> {
    return withTenant(this.db, tenantId, (tx) => decideDraft(tx, id, decision, actor, reason));
  }

  putRate(tenantId: string, rate: FxRate & { source?: string }, actor: string): Promise<boolean> {
    return withTenant(this.db, tenantId, (tx) => upsertRate(tx, tenantId, rate, actor));
  }

  /** All rates of a file in one transaction: every one is stored, or none. */
  importRates(tenantId: string, rates: (FxRate & { source?: string })[], actor: string): Promise<{ created: number; updated: number }> {
    return withTenant(this.db, tenantId, async (tx) => {
      let created = 0;
      for (const r of rates) if (await upsertRate(tx, tenantId, r, actor)) created++;
      return { created, updated: rates.length - created };
    });
  }

  rates(tenantId: string, q: { base?: Currency; quote?: Currency; from?: string; to?: string; limit: number }) {
    return withTenant(this.db, tenantId, (tx) => listRates(tx, q));
  }

  periods(tenantId: string, q: { from?: string; to?: string }): Promise<PeriodView[]> {
    return withTenant(this.db, tenantId, (tx) => listPeriods(tx, q));
  }

  /** Lock, close or reopen a period: audited by the database; a close waits for postings in flight. */
  movePeriod(tenantId: string, input: { periodStart: string; action: 'lock' | 'close' | 'reopen'; actor: string; reason?: string }): Promise<PeriodView> {
    return withTenant(this.db, tenantId, (tx) => movePeriod(tx, input));
  }

  settings(tenantId: string): Promise<AccountingSettings> {
    return withTenant(this.db, tenantId, readSettings);
  }

  updateSettings(tenantId: string, change: Partial<AccountingSettings>): Promise<AccountingSettings> {
    return withTenant(this.db, tenantId, (tx) => updateSettings(tx, tenantId, change));
  }

  read<T>(tenantId: string, report: (books: BooksReader) => Promise<T>): Promise<T> {
    return readSnapshot(this.db, tenantId, (tx) =>
      report({
        tenant: () => tenantInfo(tx, tenantId),
        chart: () => chartOfAccounts(tx),
        account: (id) => accountById(tx, id),
        balancesAsOf: (asOf, opts) => balancesAsOf(tx, tenantId, asOf, opts),
        movements: (from, to, opts) => movements(tx, tenantId, from, to, opts),
        cashFlows: (from, to) => cashFlows(tx, tenantId, from, to),
        accountPostings: (accountId, from, to, limit) => accountPostings(tx, tenantId, accountId, from, to, limit),
        ratesInForce: (asOf) => ratesInForce(tx, tenantId, asOf),
        journalPage: (q) => journalPage(tx, tenantId, q),
      }),
    );
  }
}
