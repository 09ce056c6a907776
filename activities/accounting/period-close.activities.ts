/**
 * PeriodClose's activities, over the accounting and payments modules. Every date that matters to the books comes
 * from the workflow; every entry id is derived from the workflow id and step, so a retried step posts nothing twice.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { Pool } from 'pg';
import {
  AccountingError,
  balanceSheet,
  closingLines,
  incomeStatement,
  revaluationLines,
  revalue,
  toJsonSafe,
  trialBalance,
  unbalancedCurrencies,
  type AccountAmount,
  type PeriodRef,
} from '../../core/accounting';
import type { Currency } from '../../core/money';
import { AccountingModule, periodCloses as closes, withTenant } from '../../modules/accounting';
import { countInFlightPayments } from '../../modules/payments';
import { deterministicUuid } from '../../platform/ids';
import { setPeriodStatus } from '../../platform/ledger';
import { CLOSE_FAILURES, type CloseTrigger } from '../../workflows/accounting/period-close.contract';

interface Scope {
  tenantId: string;
  workflowId: string;
}

const byCurrency = (xs: readonly AccountAmount[]) => {
  const out = new Map<Currency, AccountAmount[]>();
  for (const x of xs) out.set(x.currency, [...(out.get(x.currency) ?? []), x]);
  return [...out].sort(([a], [b]) => (a < b ? -1 : 1));
};

export function createPeriodCloseActivities({ db }: { db: Pool }) {
  const books = new AccountingModule(db);
  return {
    closeSettings: ({ tenantId }: { tenantId: string }) => withTenant(db, tenantId, closes.closeSettings),

    claimClose: (s: Scope & { period: PeriodRef; trigger: CloseTrigger; startedBy: string }) =>
      withTenant(db, s.tenantId, (tx) => closes.claimClose(tx, s.tenantId, s)),

    /** The audited reopen (admin's, with a reason); nothing if this run already reopened it. */
    async reopenPeriod(s: Scope & { periodStart: string; actor: string; reason: string }): Promise<void> {
      await withTenant(db, s.tenantId, async (tx) => {
        const { rows } = await tx.query<{ status: string }>('SELECT status FROM accounting_periods WHERE period_start = $1', [s.periodStart]);
        if (rows[0]?.status === 'closed') await setPeriodStatus(tx, { periodStart: s.periodStart, action: 'reopen', actor: s.actor, reason: s.reason });
      });
    },

    async lockPeriod(s: Scope & { periodStart: string; actor: string }): Promise<void> {
      await withTenant(db, s.tenantId, (tx) => setPeriodStatus(tx, { periodStart: s.periodStart, action: 'lock', actor: s.actor }));
    },

    inFlightPayments: (s: Scope & { period: PeriodRef }) => withTenant(db, s.tenantId, (tx) => countInFlightPayments(tx, s.period.periodStart, s.period.periodEnd)),

    /** Unrealised FX differences of open foreign balances, posted as one adjusting entry dated the period's last day. */
    async revalueForeignBalances(s: Scope & { period: PeriodRef; reportingCurrency: Currency | null }) {
      if (!s.reportingCurrency) return { reportingCurrency: null, lines: [], entry: null };
      const reporting = s.reportingCurrency;
      return withTenant(db, s.tenantId, async (tx) => {
        const balances = await closes.foreignBalances(tx, s.period, reporting);
        const { rows: rates } = await tx.query<{ base: Currency; quote: Currency; rate: string; rateDate: string }>(
          `SELECT base, quote, rate::text AS rate, to_char(rate_date, 'YYYY-MM-DD') AS "rateDate" FROM fx_rates WHERE rate_date <= $1::date`,
          [s.period.periodEnd],
        );
        let lines;
        try {
          lines = revalue(balances, reporting, rates.map((r) => ({ ...r, base: r.base.trim() as Currency, quote: r.quote.trim() as Currency })), s.period);
        } catch (err) {
          if (err instanceof AccountingError && err.code === 'missing-rate') throw ApplicationFailure.nonRetryable(err.message, CLOSE_FAILURES.missingRate, err.details);
          throw err;
        }
        const posting = revaluationLines(lines, reporting, await closes.systemAccountId(tx, 'fx_gain_loss'));
        const entry = posting.length
          ? { id: deterministicUuid(s.workflowId, 'fx-revaluation'), status: await closes.postCloseEntry(tx, { id: deterministicUuid(s.workflowId, 'fx-revaluation'), accountingDate: s.period.periodEnd, description: `Unrealised FX revaluation ${s.period.periodStart.slice(0, 7)}`, workflowId: s.workflowId, kind: 'adjusting', lines: posting }) }
          : null;
        return toJsonSafe({ reportingCurrency: reporting, lines, entry });
      });
    },

    /** Year end: revenue and expense brought to zero against retained earnings, dated the year's last day. */
    async postClosingEntries(s: Scope & { fiscalYearEnd: string }) {
      return withTenant(db, s.tenantId, async (tx) => {
        const chart = await books.read(s.tenantId, (b) => b.chart());
        const { balances } = await books.read(s.tenantId, (b) => b.balancesAsOf(s.fiscalYearEnd));
        const lines = closingLines(chart, balances, await closes.systemAccountId(tx, 'retained_earnings'));
        if (!lines.length) return { entry: null, lines: [] };
        const id = deterministicUuid(s.workflowId, 'year-end-closing');
        const status = await closes.postCloseEntry(tx, { id, accountingDate: s.fiscalYearEnd, description: `Closing entries, fiscal year ending ${s.fiscalYearEnd}`, workflowId: s.workflowId, kind: 'closing', lines });
        return toJsonSafe({ entry: { id, status }, lines });
      });
    },

    /** The trial balance as of the period's end, per currency; a difference is a business failure. */
    async checkTrialBalance(s: Scope & { period: PeriodRef }) {
      const { balances } = await books.read(s.tenantId, (b) => b.balancesAsOf(s.period.periodEnd));
      const unbalanced = unbalancedCurrencies(balances);
      if (unbalanced.length) {
        throw ApplicationFailure.nonRetryable(`the trial balance as of ${s.period.periodEnd} does not balance`, CLOSE_FAILURES.unbalanced, toJsonSafe(unbalanced));
      }
      return { balanced: true, currencies: byCurrency(balances).map(([c]) => c) };
    },

    /** The statements as they stand at the period end, persisted on the close for sign-off and download. */
    async snapshotStatements(s: Scope & { period: PeriodRef; yearEnd: boolean; fxRevaluation: unknown }): Promise<void> {
      const report = await books.read(s.tenantId, async (b) => {
        const tenant = await b.tenant();
        const chart = await b.chart();
        const { balances } = await b.balancesAsOf(s.period.periodEnd);
        const moves = await b.movements(s.period.periodStart, s.period.periodEnd, { excludeClosing: true });
        const pnl = new Set(chart.filter((a) => a.type === 'revenue' || a.type === 'expense').map((a) => a.id));
        const perCurrency = byCurrency(balances).map(([currency, bs]) => ({
          currency,
          trialBalance: trialBalance(chart, bs),
          balanceSheet: balanceSheet(chart, bs),
          incomeStatement: incomeStatement(chart, moves.filter((m) => m.currency === currency && pnl.has(m.accountId))),
        }));
        return toJsonSafe({
          tenant: { id: tenant.id, name: tenant.name, timeZone: tenant.timeZone },
          periodStart: s.period.periodStart,
          periodEnd: s.period.periodEnd,
          currencies: perCurrency,
        });
      });
      const trial = report.currencies.map((c) => ({ currency: c.currency, ...c.trialBalance }));
      await withTenant(db, s.tenantId, (tx) => closes.recordSnapshot(tx, s.workflowId, { yearEnd: s.yearEnd, fxRevaluation: s.fxRevaluation, trialBalance: trial, statements: report }));
    },

    /** The sign-off is overdue: marked and announced once (period_close.escalated through the outbox). */
    recordEscalation: (s: Scope & { at: string }) => withTenant(db, s.tenantId, (tx) => closes.recordEscalation(tx, s.tenantId, s.workflowId, new Date(s.at))),

    /** The hard lock, by the person who signed off; then the close is recorded closed. */
    async closePeriod(s: Scope & { periodStart: string; signedOffBy: string; signedOffAt: string }): Promise<void> {
      await withTenant(db, s.tenantId, async (tx) => {
        await setPeriodStatus(tx, { periodStart: s.periodStart, action: 'close', actor: s.signedOffBy });
        await closes.recordClosed(tx, s.workflowId, s.signedOffBy, new Date(s.signedOffAt));
      });
    },
  };
}

export type PeriodCloseActivities = ReturnType<typeof createPeriodCloseActivities>;
