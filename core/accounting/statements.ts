/**
 * Statement assembly from balances: pure, so the same figures come out of a request, a workflow or a unit test.
 * Inputs are debit-minus-credit amounts per account in ONE currency (a ledger balances per currency); figures are
 * bigint minor units. Sign conventions: a line shows its amount as the statement reads it (revenue positive,
 * a contra asset negative inside assets, contra revenue positive as a deduction).
 */
import { sum } from './amounts';
import { inNormalDirection, isProfitAndLoss, type AccountAmount, type ChartAccount, type Subtype } from './chart';
import { AccountingError } from './errors';

export interface StatementLine {
  accountId: string;
  code: string;
  name: string;
  amountMinor: bigint;
}
export interface Section {
  lines: StatementLine[];
  totalMinor: bigint;
}

function indexChart(chart: readonly ChartAccount[]): Map<string, ChartAccount> {
  return new Map(chart.map((a) => [a.id, a]));
}

/** Non-zero amounts joined to their accounts, in code order. */
function joined(chart: readonly ChartAccount[], amounts: readonly AccountAmount[]): { account: ChartAccount; dmc: bigint }[] {
  const byId = indexChart(chart);
  const totals = new Map<string, bigint>();
  for (const a of amounts) totals.set(a.accountId, (totals.get(a.accountId) ?? 0n) + a.dmc);
  const out: { account: ChartAccount; dmc: bigint }[] = [];
  for (const [id, dmc] of totals) {
    const account = byId.get(id);
    if (!account) throw new AccountingError('invalid', `an amount names account ${id}, which is not in the chart`);
    if (dmc !== 0n) out.push({ account, dmc });
  }
  return out.sort((x, y) => (x.account.code < y.account.code ? -1 : x.account.code > y.account.code ? 1 : 0));
}

function section(rows: { account: ChartAccount; dmc: bigint }[], pick: (a: ChartAccount) => boolean, sign: (a: ChartAccount, dmc: bigint) => bigint): Section {
  const lines = rows
    .filter((r) => pick(r.account))
    .map((r) => ({ accountId: r.account.id, code: r.account.code, name: r.account.name, amountMinor: sign(r.account, r.dmc) }));
  return { lines, totalMinor: sum(lines.map((l) => l.amountMinor)) };
}

const bySubtype = (s: Subtype) => (a: ChartAccount) => a.subtype === s;
const debitPositive = (_: ChartAccount, dmc: bigint) => dmc;
const creditPositive = (_: ChartAccount, dmc: bigint) => -dmc;

// ------------------------------------------------------------------ trial balance

export interface TrialBalanceLine {
  accountId: string;
  code: string;
  name: string;
  type: ChartAccount['type'];
  subtype: Subtype;
  debitMinor: bigint;
  creditMinor: bigint;
}

export function trialBalance(chart: readonly ChartAccount[], balances: readonly AccountAmount[]) {
  const lines: TrialBalanceLine[] = joined(chart, balances).map(({ account, dmc }) => ({
    accountId: account.id,
    code: account.code,
    name: account.name,
    type: account.type,
    subtype: account.subtype,
    debitMinor: dmc > 0n ? dmc : 0n,
    creditMinor: dmc < 0n ? -dmc : 0n,
  }));
  const debitMinor = sum(lines.map((l) => l.debitMinor));
  const creditMinor = sum(lines.map((l) => l.creditMinor));
  return { lines, totals: { debitMinor, creditMinor }, balanced: debitMinor === creditMinor };
}

// ------------------------------------------------------------------ balance sheet

/**
 * Assets (by subtype; a contra asset reduces them), liabilities (by subtype), equity, and the current earnings:
 * revenue minus expenses not yet closed to retained earnings (the balances still on the profit-and-loss accounts).
 * `balanced` checks assets = liabilities + equity + current earnings.
 */
export function balanceSheet(chart: readonly ChartAccount[], balances: readonly AccountAmount[]) {
  const rows = joined(chart, balances);
  const assetSections = (['current_asset', 'non_current_asset', 'contra_asset'] as const).map((s) => ({ subtype: s, ...section(rows, bySubtype(s), debitPositive) }));
  const liabilitySections = (['current_liability', 'non_current_liability'] as const).map((s) => ({ subtype: s, ...section(rows, bySubtype(s), creditPositive) }));
  const equity = section(rows, (a) => a.type === 'equity', creditPositive);
  const currentEarningsMinor = -sum(rows.filter((r) => isProfitAndLoss(r.account)).map((r) => r.dmc));
  const totalAssetsMinor = sum(assetSections.map((s) => s.totalMinor));
  const totalLiabilitiesMinor = sum(liabilitySections.map((s) => s.totalMinor));
  const totalLiabilitiesAndEquityMinor = totalLiabilitiesMinor + equity.totalMinor + currentEarningsMinor;
  return {
    assets: { sections: assetSections, totalMinor: totalAssetsMinor },
    liabilities: { sections: liabilitySections, totalMinor: totalLiabilitiesMinor },
    equity,
    currentEarningsMinor,
    totalLiabilitiesAndEquityMinor,
    balanced: totalAssetsMinor === totalLiabilitiesAndEquityMinor,
  };
}

// ------------------------------------------------------------------ income statement

/** Movements of a date range on the profit-and-loss accounts (closing entries excluded by the caller). */
export function incomeStatement(chart: readonly ChartAccount[], movements: readonly AccountAmount[]) {
  const rows = joined(chart, movements).filter((r) => isProfitAndLoss(r.account));
  const revenue = section(rows, bySubtype('revenue'), creditPositive);
  const contraRevenue = section(rows, bySubtype('contra_revenue'), debitPositive);
  const netRevenueMinor = revenue.totalMinor - contraRevenue.totalMinor;
  const costOfSales = section(rows, bySubtype('cost_of_sales'), debitPositive);
  const grossProfitMinor = netRevenueMinor - costOfSales.totalMinor;
  const expenses = section(rows, bySubtype('expense'), debitPositive);
  const operatingIncomeMinor = grossProfitMinor - expenses.totalMinor;
  const otherIncome = section(rows, bySubtype('other_income'), creditPositive);
  const otherExpense = section(rows, bySubtype('other_expense'), debitPositive);
  const netIncomeMinor = operatingIncomeMinor + otherIncome.totalMinor - otherExpense.totalMinor;
  return { revenue, contraRevenue, netRevenueMinor, costOfSales, grossProfitMinor, expenses, operatingIncomeMinor, otherIncome, otherExpense, netIncomeMinor };
}

// ------------------------------------------------------------------ cash summary

export interface CashFlows {
  accountId: string;
  /** Debits to the account in the range (money in). */
  inflowsMinor: bigint;
  /** Credits to the account in the range, as a positive amount (money out). */
  outflowsMinor: bigint;
}

/** The cash accounts (is_cash): opening balance, money in, money out, closing balance. */
export function cashSummary(chart: readonly ChartAccount[], opening: readonly AccountAmount[], flows: readonly CashFlows[]) {
  const openingBy = new Map<string, bigint>();
  for (const o of opening) openingBy.set(o.accountId, (openingBy.get(o.accountId) ?? 0n) + o.dmc);
  const flowBy = new Map(flows.map((f) => [f.accountId, f]));
  const accounts = chart
    .filter((a) => a.isCash && (openingBy.has(a.id) || flowBy.has(a.id)))
    .sort((x, y) => (x.code < y.code ? -1 : 1))
    .map((a) => {
      const openingMinor = openingBy.get(a.id) ?? 0n;
      const inflowsMinor = flowBy.get(a.id)?.inflowsMinor ?? 0n;
      const outflowsMinor = flowBy.get(a.id)?.outflowsMinor ?? 0n;
      return { accountId: a.id, code: a.code, name: a.name, openingMinor, inflowsMinor, outflowsMinor, closingMinor: openingMinor + inflowsMinor - outflowsMinor };
    });
  const total = (k: 'openingMinor' | 'inflowsMinor' | 'outflowsMinor' | 'closingMinor') => sum(accounts.map((a) => a[k]));
  return { accounts, totals: { openingMinor: total('openingMinor'), inflowsMinor: total('inflowsMinor'), outflowsMinor: total('outflowsMinor'), closingMinor: total('closingMinor') } };
}

// ------------------------------------------------------------------ account ledger

export interface LedgerPosting {
  entryId: string;
  accountingDate: string;
  description: string;
  kind: string;
  dmc: bigint;
}

/** Postings of one account and currency in date order, with the running balance in the account's normal direction. */
export function accountLedger(account: ChartAccount, openingDmc: bigint, postings: readonly LedgerPosting[]) {
  let running = inNormalDirection(account, openingDmc);
  const lines = postings.map((p) => {
    running += inNormalDirection(account, p.dmc);
    return {
      entryId: p.entryId,
      accountingDate: p.accountingDate,
      description: p.description,
      kind: p.kind,
      debitMinor: p.dmc > 0n ? p.dmc : 0n,
      creditMinor: p.dmc < 0n ? -p.dmc : 0n,
      balanceMinor: running,
    };
  });
  return { openingMinor: inNormalDirection(account, openingDmc), lines, closingMinor: running };
}
