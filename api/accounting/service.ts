/**
 * The accounting context's API side: the chart, manual entries under maker-checker, exchange rates, and the
 * financial statements (per currency, and consolidated in a reporting currency). Figures are assembled by
 * core/accounting from what modules/accounting reads in one consistent snapshot; bigints leave as exact numbers.
 */
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import {
  AccountingError,
  accountLedger,
  balanceSheet,
  cashSummary,
  consolidateBalances,
  consolidateCash,
  convertAmounts,
  incomeStatement,
  isIsoDate,
  parseRatesCsv,
  ratesFor,
  toJsonSafe,
  trialBalance,
  type AccountAmount,
  type ChartAccount,
  type AccountType,
  type Subtype,
} from '../../core/accounting';
import type { Currency } from '../../core/money';
import { AccountingModule, type BooksReader, type JournalPosition } from '../../modules/accounting';
import { DomainError } from '../errors';
import type { Principal } from '../middleware/authenticate';

/** An account ledger longer than this is refused: narrow the range, or read journal.csv. */
export const ACCOUNT_LEDGER_MAX_LINES = 5000;

export const principalRef = (p: Principal) => (p.kind === 'user' ? `user:${p.userId}` : `api_key:${p.apiKeyId}`);

const byCurrency = <T extends { currency: Currency }>(items: readonly T[]) => {
  const out = new Map<Currency, T[]>();
  for (const i of items) out.set(i.currency, [...(out.get(i.currency) ?? []), i]);
  return [...out].sort(([a], [b]) => (a < b ? -1 : 1));
};

/** The API's reading of an accounting refusal. */
function toProblem(err: unknown): never {
  if (!(err instanceof AccountingError)) throw err;
  switch (err.code) {
    case 'not-found':
      throw new DomainError('not-found', err.message, err.details);
    case 'conflict':
      throw new DomainError('conflict', err.message, err.details);
    case 'four-eyes':
      throw new DomainError('forbidden', err.message, { ...err.details, reason: 'four-eyes' });
    case 'invalid':
    case 'missing-rate':
    case 'too-large':
      throw new DomainError('unprocessable-entity', err.message, { ...err.details, reason: err.code });
  }
}

async function guarded<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    return toProblem(err);
  }
}

export class AccountingService {
  private readonly books: AccountingModule;

  constructor(deps: { db: Pool }) {
    this.books = new AccountingModule(deps.db);
  }

  // ------------------------------------------------------------ periods, settings

  periods(p: Principal, q: { from?: string; to?: string }) {
    return this.books.periods(p.tenantId, q);
  }

  movePeriod(p: Principal, periodStart: string, action: 'lock' | 'close' | 'reopen', reason?: string) {
    return guarded(() => this.books.movePeriod(p.tenantId, { periodStart, action, actor: principalRef(p), reason }));
  }

  settings(p: Principal) {
    return this.books.settings(p.tenantId);
  }

  async updateSettings(p: Principal, change: { timeZone?: string; reportingCurrency?: Currency }) {
    try {
      return await this.books.updateSettings(p.tenantId, change);
    } catch (err) {
      // A zone Node knows and PostgreSQL does not (Intl's aliases reach further) is bad input, as at registration:
      // a 400 naming the field, not a 422.
      const errors = err instanceof AccountingError ? (err.details.errors as { path: string }[] | undefined) : undefined;
      if (err instanceof AccountingError && errors?.length === 1 && errors[0]!.path === 'body.timeZone') throw new DomainError('validation-error', err.message, { errors });
      return toProblem(err);
    }
  }

  // ------------------------------------------------------------ chart, drafts, rates

  accounts(p: Principal) {
    return this.books.accounts(p.tenantId);
  }

  createAccount(p: Principal, a: { code: string; name: string; type: AccountType; subtype: string; isCash: boolean }) {
    return guarded(() => this.books.createAccount(p.tenantId, { ...a, subtype: a.subtype as Subtype }));
  }

  createDraft(p: Principal, d: { kind: 'standard' | 'adjusting'; accountingDate: string; description: string; postings: { accountId?: string; accountCode?: string; currency: Currency; amountMinor: number }[] }) {
    return guarded(() => this.books.createDraft(p.tenantId, { ...d, id: randomUUID(), createdBy: principalRef(p) }));
  }

  drafts(p: Principal, q: { status?: 'draft' | 'posted' | 'rejected'; limit: number }) {
    return this.books.drafts(p.tenantId, q.status, q.limit);
  }

  decideDraft(p: Principal, id: string, decision: 'approve' | 'reject', reason?: string) {
    return guarded(() => this.books.decideDraft(p.tenantId, id, decision, principalRef(p), reason));
  }

  putRate(p: Principal, r: { base: Currency; quote: Currency; date: string; rate: string; source?: string }) {
    return guarded(() => this.books.putRate(p.tenantId, { base: r.base, quote: r.quote, rateDate: r.date, rate: r.rate, source: r.source }, principalRef(p)));
  }

  async importRates(p: Principal, csv: string) {
    const { rows, errors } = parseRatesCsv(csv);
    if (errors.length) {
      throw new DomainError('validation-error', `The rates file has ${errors.length} bad line(s); nothing was imported`, {
        errors: errors.map((e) => ({ path: `body.csv.line${e.line}`, message: e.message })),
      });
    }
    return guarded(() => this.books.importRates(p.tenantId, rows, principalRef(p)));
  }

  rates(p: Principal, q: { base?: Currency; quote?: Currency; from?: string; to?: string; limit: number }) {
    return this.books.rates(p.tenantId, q);
  }

  // ------------------------------------------------------------ reports

  private report<T>(p: Principal, build: (books: BooksReader) => Promise<T>) {
    return guarded(async () => toJsonSafe(await this.books.read(p.tenantId, build)));
  }

  private static header(report: string, tenant: Awaited<ReturnType<BooksReader['tenant']>>, reporting: Currency | null) {
    return { report, tenant: { id: tenant.id, name: tenant.name, timeZone: tenant.timeZone }, reportingCurrency: reporting };
  }

  /** A statement of balances as of a date: per currency, and consolidated when a reporting currency is known. */
  private asOfStatement<S>(p: Principal, name: string, q: { asOf: string; reportingCurrency?: Currency }, build: (chart: ChartAccount[], balances: AccountAmount[]) => S) {
    return this.report(p, async (books) => {
      const tenant = await books.tenant();
      const chart = await books.chart();
      const { balances, snapshotAsOf } = await books.balancesAsOf(q.asOf);
      const reporting = q.reportingCurrency ?? tenant.reportingCurrency;
      let consolidated = null;
      if (reporting) {
        const rates = ratesFor(balances.map((b) => b.currency), reporting, await books.ratesInForce(q.asOf), q.asOf);
        const c = consolidateBalances(chart, balances, reporting, rates);
        consolidated = { currency: reporting, rates: [...rates.values()], roundingMinor: c.roundingMinor, ...build(chart, c.balances) };
      }
      return {
        ...AccountingService.header(name, tenant, reporting),
        asOf: q.asOf,
        snapshotAsOf,
        currencies: byCurrency(balances).map(([currency, b]) => ({ currency, ...build(chart, b) })),
        consolidated,
      };
    });
  }

  trialBalance(p: Principal, q: { asOf: string; reportingCurrency?: Currency }) {
    return this.asOfStatement(p, 'trial-balance', q, trialBalance);
  }

  balanceSheet(p: Principal, q: { asOf: string; reportingCurrency?: Currency }) {
    return this.asOfStatement(p, 'balance-sheet', q, balanceSheet);
  }

  incomeStatement(p: Principal, q: { from: string; to: string; reportingCurrency?: Currency }) {
    return this.report(p, async (books) => {
      const tenant = await books.tenant();
      const chart = await books.chart();
      const moves = await books.movements(q.from, q.to, { excludeClosing: true });
      const pnl = new Set(chart.filter((a) => a.type === 'revenue' || a.type === 'expense').map((a) => a.id));
      const profitAndLoss: AccountAmount[] = moves.filter((m) => pnl.has(m.accountId));
      const reporting = q.reportingCurrency ?? tenant.reportingCurrency;
      let consolidated = null;
      if (reporting) {
        const rates = ratesFor(profitAndLoss.map((m) => m.currency), reporting, await books.ratesInForce(q.to), q.to);
        consolidated = { currency: reporting, rates: [...rates.values()], ...incomeStatement(chart, convertAmounts(profitAndLoss, reporting, rates)) };
      }
      return {
        ...AccountingService.header('income-statement', tenant, reporting),
        from: q.from,
        to: q.to,
        currencies: byCurrency(profitAndLoss).map(([currency, m]) => ({ currency, ...incomeStatement(chart, m) })),
        consolidated,
      };
    });
  }

  cashSummary(p: Principal, q: { from: string; to: string; reportingCurrency?: Currency }) {
    return this.report(p, async (books) => {
      const tenant = await books.tenant();
      const chart = await books.chart();
      const opening = await books.balancesAsOf(q.from, { exclusive: true });
      const flows = await books.cashFlows(q.from, q.to);
      const cash = new Set(chart.filter((a) => a.isCash).map((a) => a.id));
      const cashOpening = opening.balances.filter((b) => cash.has(b.accountId));
      const currencies = [...new Set([...cashOpening, ...flows].map((x) => x.currency))].sort();
      const perCurrency = currencies.map((currency) => ({
        currency,
        ...cashSummary(
          chart,
          cashOpening.filter((b) => b.currency === currency),
          flows.filter((f) => f.currency === currency),
        ),
      }));
      const reporting = q.reportingCurrency ?? tenant.reportingCurrency;
      let consolidated = null;
      if (reporting) {
        const rates = ratesFor(currencies, reporting, await books.ratesInForce(q.to), q.to);
        consolidated = { currency: reporting, rates: [...rates.values()], ...consolidateCash(perCurrency, reporting, rates) };
      }
      return { ...AccountingService.header('cash-summary', tenant, reporting), from: q.from, to: q.to, currencies: perCurrency, consolidated };
    });
  }

  accountLedger(p: Principal, accountId: string, q: { from: string; to: string }) {
    return this.report(p, async (books) => {
      const account = await books.account(accountId);
      if (!account) throw new AccountingError('not-found', `No ledger account ${accountId}`);
      // One client: its queries run one after the other.
      const tenant = await books.tenant();
      const opening = await books.balancesAsOf(q.from, { exclusive: true, accountId });
      const postings = await books.accountPostings(accountId, q.from, q.to, ACCOUNT_LEDGER_MAX_LINES + 1);
      if (postings.length > ACCOUNT_LEDGER_MAX_LINES) {
        throw new AccountingError('invalid', `More than ${ACCOUNT_LEDGER_MAX_LINES} postings in the range: narrow from/to, or export journal.csv`);
      }
      const currencies = [...new Set([...opening.balances, ...postings].map((x) => x.currency))].sort();
      return {
        report: 'account-ledger',
        tenant: { id: tenant.id, name: tenant.name, timeZone: tenant.timeZone },
        account,
        from: q.from,
        to: q.to,
        currencies: currencies.map((currency) => ({
          currency,
          ...accountLedger(
            account,
            opening.balances.find((b) => b.currency === currency)?.dmc ?? 0n,
            postings.filter((x) => x.currency === currency),
          ),
        })),
      };
    });
  }

  journal(p: Principal, q: { from: string; to: string; limit: number; cursor?: string }) {
    const after = decodeJournalCursor(q.cursor);
    return this.report(p, async (books) => {
      const tenant = await books.tenant();
      const page = await books.journalPage({ from: q.from, to: q.to, after, limit: q.limit });
      return {
        report: 'journal',
        tenant: { id: tenant.id, name: tenant.name, timeZone: tenant.timeZone },
        from: q.from,
        to: q.to,
        data: page.entries,
        nextCursor: page.more && page.last ? encodeJournalCursor(page.last) : null,
      };
    });
  }

  /**
   * The general ledger export: one CSV line per posting, all read in one snapshot of the books (pages of entries
   * inside one transaction, so nothing posted meanwhile can slip between two pages).
   */
  journalCsv(p: Principal, q: { from: string; to: string }): Promise<string> {
    return guarded(() =>
      this.books.read(p.tenantId, async (books) => {
        const lines = [GL_COLUMNS.join(',')];
        let after: JournalPosition | undefined;
        for (;;) {
          const page = await books.journalPage({ from: q.from, to: q.to, after, limit: 1000 });
          for (const e of page.entries) {
            for (const x of e.postings) {
              const cells = [e.id, e.accountingDate, e.postedAt, e.kind, e.source.type, e.source.id, e.description, e.createdBy, e.approvedBy ?? '', x.code, x.name, x.currency, String(x.amountMinor)];
              lines.push(cells.map(csvCell).join(','));
            }
          }
          if (lines.length > GL_EXPORT_MAX_LINES) throw new AccountingError('invalid', `More than ${GL_EXPORT_MAX_LINES} postings in the range: export it in parts`);
          if (!page.more || !page.last) return `${lines.join('\r\n')}\r\n`;
          after = page.last;
        }
      }),
    );
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A GL export longer than this is refused (it is built in memory from one snapshot). */
export const GL_EXPORT_MAX_LINES = 200_000;
export const GL_COLUMNS = ['entry_id', 'accounting_date', 'posted_at', 'kind', 'source_type', 'source_id', 'description', 'created_by', 'approved_by', 'account_code', 'account_name', 'currency', 'amount_minor'];

/** RFC 4180 quoting; a text cell a spreadsheet would run as a formula (=, +, -, @) is prefixed with a quote mark. */
export function csvCell(v: string): string {
  const safe = /^[=+\-@\t\r]/.test(v) && !/^-?[0-9]+$/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

function encodeJournalCursor(p: JournalPosition): string {
  return Buffer.from(JSON.stringify([p.accountingDate, p.postedAt, p.id])).toString('base64url');
}

function decodeJournalCursor(cursor: string | undefined): JournalPosition | undefined {
  if (!cursor) return undefined;
  try {
    const [accountingDate, postedAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as string[];
    // Shapes alone are not enough: 9999-99-99 or an id of dashes would reach PostgreSQL's casts (a 500).
    const moment = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2}):(\d{2})\.\d{6}Z$/.exec(postedAt ?? '');
    const validMoment = moment && isIsoDate(moment[1]!) && Number(moment[2]) < 24 && Number(moment[3]) < 60 && Number(moment[4]) < 60;
    if (!isIsoDate(accountingDate ?? '') || !validMoment || !UUID.test(id ?? '')) throw new Error('bad cursor');
    return { accountingDate: accountingDate!, postedAt: postedAt!, id: id! };
  } catch {
    throw new DomainError('validation-error', 'The cursor is not one this API issued', { errors: [{ path: 'query.cursor', message: 'invalid cursor' }] });
  }
}
