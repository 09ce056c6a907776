/**
 * A closed month's statements, as persisted by PeriodClose before its sign-off: a printable page and a CSV (one
 * line per figure). Amounts are integer minor units in the snapshot; the page formats them, the CSV keeps them.
 */
import type { CloseSnapshot } from '../../modules/accounting';
import { esc, formatMinor, page } from './html';
import { csvCell } from './service';

type Line = { code: string; name: string; amountMinor: number };
type Section = { lines: Line[]; totalMinor: number };
interface CurrencyStatements {
  currency: string;
  trialBalance: { lines: { code: string; name: string; debitMinor: number; creditMinor: number }[]; totals: { debitMinor: number; creditMinor: number }; balanced: boolean };
  balanceSheet: { assets: { sections: (Section & { subtype: string })[]; totalMinor: number }; liabilities: { sections: (Section & { subtype: string })[]; totalMinor: number }; equity: Section; currentEarningsMinor: number; totalLiabilitiesAndEquityMinor: number; balanced: boolean };
  incomeStatement: Record<'revenue' | 'contraRevenue' | 'costOfSales' | 'expenses' | 'otherIncome' | 'otherExpense', Section> & { netRevenueMinor: number; grossProfitMinor: number; operatingIncomeMinor: number; netIncomeMinor: number };
}
interface Statements {
  tenant: { id: string; name: string; timeZone: string };
  periodStart: string;
  periodEnd: string;
  currencies: CurrencyStatements[];
}

const IS_SECTIONS = [
  ['revenue', 'Revenue'],
  ['contraRevenue', 'Returns and refunds (less)'],
  ['costOfSales', 'Cost of sales'],
  ['expenses', 'Expenses'],
  ['otherIncome', 'Other income'],
  ['otherExpense', 'Other expenses'],
] as const;

/** The figures as rows: statement, currency, section, code, name, amount in minor units. */
function figures(s: Statements): string[][] {
  const rows: string[][] = [];
  for (const c of s.currencies) {
    for (const l of c.trialBalance.lines) rows.push(['trial_balance', c.currency, 'debit_minus_credit', l.code, l.name, String(l.debitMinor - l.creditMinor)]);
    for (const sec of [...c.balanceSheet.assets.sections, ...c.balanceSheet.liabilities.sections]) for (const l of sec.lines) rows.push(['balance_sheet', c.currency, sec.subtype, l.code, l.name, String(l.amountMinor)]);
    for (const l of c.balanceSheet.equity.lines) rows.push(['balance_sheet', c.currency, 'equity', l.code, l.name, String(l.amountMinor)]);
    rows.push(['balance_sheet', c.currency, 'current_earnings', '', 'Current earnings', String(c.balanceSheet.currentEarningsMinor)]);
    for (const [key] of IS_SECTIONS) for (const l of c.incomeStatement[key].lines) rows.push(['income_statement', c.currency, key, l.code, l.name, String(l.amountMinor)]);
    rows.push(['income_statement', c.currency, 'net_income', '', 'Net income', String(c.incomeStatement.netIncomeMinor)]);
  }
  return rows;
}

export function closeStatementsCsv(close: CloseSnapshot): string {
  const head = ['statement', 'currency', 'section', 'account_code', 'account_name', 'amount_minor'];
  return `${[head, ...figures(close.statements as Statements)].map((r) => r.map(csvCell).join(',')).join('\r\n')}\r\n`;
}

const rows = (lines: Line[], currency: string) => lines.map((l) => `<tr><td>${esc(l.code)}</td><td>${esc(l.name)}</td><td class="n">${formatMinor(l.amountMinor, currency)}</td></tr>`).join('');
const total = (label: string, minor: number, currency: string, figure: string) =>
  `<tr class="total"><td></td><td>${esc(label)}</td><td class="n" data-figure="${figure}">${formatMinor(minor, currency)}</td></tr>`;

function currencySection(c: CurrencyStatements): string {
  const cur = c.currency;
  const tb = c.trialBalance;
  const tbRows = tb.lines.map((l) => `<tr><td>${esc(l.code)}</td><td>${esc(l.name)}</td><td class="n">${l.debitMinor ? formatMinor(l.debitMinor, cur) : ''}</td><td class="n">${l.creditMinor ? formatMinor(l.creditMinor, cur) : ''}</td></tr>`).join('');
  const bs = c.balanceSheet;
  const is = c.incomeStatement;
  return `<section data-currency="${esc(cur)}"><h2>${esc(cur)}</h2>
<h3>Trial balance</h3><table><tr><th>Code</th><th>Account</th><th class="n">Debit</th><th class="n">Credit</th></tr>${tbRows}
<tr class="total"><td></td><td>Totals ${tb.balanced ? '<span class="ok">balanced</span>' : '<span class="bad">DOES NOT BALANCE</span>'}</td><td class="n" data-figure="tb-debit">${formatMinor(tb.totals.debitMinor, cur)}</td><td class="n" data-figure="tb-credit">${formatMinor(tb.totals.creditMinor, cur)}</td></tr></table>
<h3>Balance sheet</h3><table><tr><th>Code</th><th>Account</th><th class="n">Amount</th></tr>
${bs.assets.sections.map((s) => rows(s.lines, cur)).join('')}${total('Total assets', bs.assets.totalMinor, cur, 'total-assets')}
${bs.liabilities.sections.map((s) => rows(s.lines, cur)).join('')}${total('Total liabilities', bs.liabilities.totalMinor, cur, 'total-liabilities')}
${rows(bs.equity.lines, cur)}${total('Current earnings', bs.currentEarningsMinor, cur, 'current-earnings')}
${total('Total liabilities and equity', bs.totalLiabilitiesAndEquityMinor, cur, 'total-liabilities-equity')}</table>
<h3>Income statement</h3><table><tr><th>Code</th><th>Account</th><th class="n">Amount</th></tr>
${IS_SECTIONS.map(([k]) => rows(is[k].lines, cur)).join('')}${total('Net income', is.netIncomeMinor, cur, 'net-income')}</table></section>`;
}

export function closeStatementsHtml(close: CloseSnapshot): string {
  const s = close.statements as Statements;
  const meta = `<table data-figure="close"><tr><th>Close</th><td>run ${close.run} (${esc(close.trigger)}), started by ${esc(close.startedBy)}</td></tr>
<tr><th>Signed off</th><td data-figure="signed-off-by">${esc(close.signedOffBy ?? '')} at ${esc(close.signedOffAt ?? '')}</td></tr>
<tr><th>Closed</th><td>${esc(close.closedAt ?? '')}${close.yearEnd ? ' · fiscal year end: closing entries posted' : ''}${close.escalatedAt ? ` · sign-off escalated ${esc(close.escalatedAt)}` : ''}</td></tr></table>`;
  return page('Closed period statements', s, `${s.periodStart} to ${s.periodEnd}`, meta + s.currencies.map(currencySection).join('\n'));
}
