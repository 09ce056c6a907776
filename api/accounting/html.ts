/**
 * The statements as printable pages: server-rendered HTML with inline styles, no scripts and no external assets.
 * Figures are formatted from integer minor units (no floats); every text from the books is escaped.
 */
import { minorUnitExponent, type Currency } from '../../core/money';
import type { AccountingService } from './service';

type View<K extends keyof AccountingService> = AccountingService[K] extends (...a: never[]) => Promise<infer R> ? R : never;
type Line = { code: string; name: string; amountMinor: number };
type Section = { lines: Line[]; totalMinor: number };
type Rate = { from: string; to: string; base: string; quote: string; rate: string; rateDate: string; direction: string };

export const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; form-action 'none'";

export const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** 1234567 EUR -> "12,345.67"; -5 JPY -> "-5". */
export function formatMinor(minor: number, currency: string): string {
  const exp = minorUnitExponent(currency as Currency);
  const digits = String(Math.abs(minor)).padStart(exp + 1, '0');
  const whole = digits.slice(0, digits.length - exp).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${minor < 0 ? '-' : ''}${whole}${exp ? `.${digits.slice(-exp)}` : ''}`;
}

const num = (minor: number, currency: string, figure?: string) => `<td class="n"${figure ? ` data-figure="${figure}"` : ''}>${formatMinor(minor, currency)}</td>`;
const LABEL: Record<string, string> = {
  current_asset: 'Current assets',
  non_current_asset: 'Non-current assets',
  contra_asset: 'Contra assets (less)',
  current_liability: 'Current liabilities',
  non_current_liability: 'Non-current liabilities',
};

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111;margin:2rem auto;max-width:60rem;padding:0 1rem}
h1{font-size:1.5rem;margin:0}h2{font-size:1.15rem;margin:2rem 0 .5rem;border-bottom:2px solid #111}h3{font-size:1rem;margin:1rem 0 .25rem}
.meta{color:#444;margin:.25rem 0 1rem}table{border-collapse:collapse;width:100%;margin:.25rem 0 1rem}
th,td{padding:.2rem .5rem;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}th{background:#f3f3f3}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap;width:9rem}
td:first-child,th:first-child{width:8rem}tr.total td{font-weight:600;border-top:2px solid #111}
tr.grand td{font-weight:700;border-top:3px double #111}.ok{color:#0a6b2d}.bad{color:#b00020;font-weight:700}
.rates td,.rates th{font-size:.9em}footer{color:#666;font-size:.85em;margin-top:2rem}
@media print{body{margin:0;max-width:none;font-size:11pt}h2{break-after:avoid}table{break-inside:auto}tr{break-inside:avoid}th{background:none}}`;

export function page(title: string, view: { tenant: { name: string; timeZone: string } }, when: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)} · ${esc(view.tenant.name)} · ${esc(when)}</title><style>${STYLE}</style></head>
<body><header><h1>${esc(title)}</h1><p class="meta"><strong data-figure="tenant">${esc(view.tenant.name)}</strong> · <span data-figure="period">${esc(when)}</span>
 · accounting dates in ${esc(view.tenant.timeZone)} · amounts in each section's currency</p></header>
${body}
<footer>FinFlow · generated ${esc(new Date().toISOString())}</footer></body></html>`;
}

function ratesTable(currency: string, rates: Rate[]): string {
  if (rates.length === 0) return `<p class="meta">Consolidated in ${esc(currency)}: all balances are in ${esc(currency)}, no rate needed.</p>`;
  const rows = rates
    .map((r) => `<tr><td>${esc(r.from)} → ${esc(r.to)}</td><td>1 ${esc(r.base)} = ${esc(r.rate)} ${esc(r.quote)}</td><td>${esc(r.rateDate)}</td><td>${r.direction === 'inverse' ? `divided by the ${esc(r.base)}/${esc(r.quote)} rate` : 'multiplied'}</td></tr>`)
    .join('');
  return `<table class="rates" data-figure="rates"><caption>Rates used (latest on or before the report date; each account rounded half to even)</caption>
<tr><th>Conversion</th><th>Rate</th><th>Rate date</th><th>Applied</th></tr>${rows}</table>`;
}

const heading = (c: { currency: string }, consolidated: boolean) => (consolidated ? `Consolidated in ${esc(c.currency)}` : esc(c.currency));
const sectionAttr = (c: { currency: string }, consolidated: boolean) => (consolidated ? `data-consolidated="${esc(c.currency)}"` : `data-currency="${esc(c.currency)}"`);
const balancedMark = (ok: boolean) => (ok ? '<span class="ok" data-figure="balanced">balanced</span>' : '<span class="bad" data-figure="balanced">DOES NOT BALANCE</span>');

function lineRows(s: Section, currency: string, indent = ''): string {
  return s.lines.map((l) => `<tr><td>${indent}${esc(l.code)}</td><td>${esc(l.name)}</td>${num(l.amountMinor, currency)}</tr>`).join('');
}

export function trialBalanceHtml(v: View<'trialBalance'>): string {
  const block = (c: View<'trialBalance'>['currencies'][number] & { roundingMinor?: number; rates?: Rate[] }, consolidated: boolean) => `
<section ${sectionAttr(c, consolidated)}><h2>${heading(c, consolidated)}</h2>${c.rates ? ratesTable(c.currency, c.rates) : ''}
<table><tr><th>Code</th><th>Account</th><th class="n">Debit</th><th class="n">Credit</th></tr>
${c.lines.map((l) => `<tr><td>${esc(l.code)}</td><td>${esc(l.name)}</td>${l.debitMinor ? num(l.debitMinor, c.currency) : '<td></td>'}${l.creditMinor ? num(l.creditMinor, c.currency) : '<td></td>'}</tr>`).join('')}
<tr class="grand"><td></td><td>Totals ${balancedMark(c.balanced)}</td>${num(c.totals.debitMinor, c.currency, 'total-debit')}${num(c.totals.creditMinor, c.currency, 'total-credit')}</tr></table>
${c.roundingMinor !== undefined ? `<p class="meta">Rounding difference put on the rounding account: <span data-figure="rounding">${formatMinor(c.roundingMinor, c.currency)}</span> (debit positive)</p>` : ''}</section>`;
  return page('Trial balance', v, `as of ${v.asOf}`, [...v.currencies.map((c) => block(c, false)), ...(v.consolidated ? [block(v.consolidated, true)] : [])].join('\n'));
}

export function balanceSheetHtml(v: View<'balanceSheet'>): string {
  const block = (c: View<'balanceSheet'>['currencies'][number] & { roundingMinor?: number; rates?: Rate[] }, consolidated: boolean) => {
    const cur = c.currency;
    const subsections = (sections: (Section & { subtype: string })[]) =>
      sections
        .filter((s) => s.lines.length)
        .map((s) => `<tr><th colspan="3">${esc(LABEL[s.subtype] ?? s.subtype)}</th></tr>${lineRows(s, cur)}<tr class="total"><td></td><td>Total ${esc((LABEL[s.subtype] ?? s.subtype).toLowerCase())}</td>${num(s.totalMinor, cur, `total-${s.subtype}`)}</tr>`)
        .join('');
    return `
<section ${sectionAttr(c, consolidated)}><h2>${heading(c, consolidated)}</h2>${c.rates ? ratesTable(cur, c.rates) : ''}
<h3>Assets</h3><table><tr><th>Code</th><th>Account</th><th class="n">Amount</th></tr>${subsections(c.assets.sections)}
<tr class="grand"><td></td><td>Total assets</td>${num(c.assets.totalMinor, cur, 'total-assets')}</tr></table>
<h3>Liabilities and equity</h3><table><tr><th>Code</th><th>Account</th><th class="n">Amount</th></tr>${subsections(c.liabilities.sections)}
<tr class="total"><td></td><td>Total liabilities</td>${num(c.liabilities.totalMinor, cur, 'total-liabilities')}</tr>
<tr><th colspan="3">Equity</th></tr>${lineRows(c.equity, cur)}
<tr><td></td><td>Current earnings (not yet closed to retained earnings)</td>${num(c.currentEarningsMinor, cur, 'current-earnings')}</tr>
<tr class="total"><td></td><td>Total equity incl. current earnings</td>${num(c.equity.totalMinor + c.currentEarningsMinor, cur, 'total-equity')}</tr>
<tr class="grand"><td></td><td>Total liabilities and equity ${balancedMark(c.balanced)}</td>${num(c.totalLiabilitiesAndEquityMinor, cur, 'total-liabilities-and-equity')}</tr></table>
${c.roundingMinor !== undefined ? `<p class="meta">Consolidation rounding (in current earnings): <span data-figure="rounding">${formatMinor(c.roundingMinor, cur)}</span> (debit positive)</p>` : ''}</section>`;
  };
  return page('Balance sheet', v, `as of ${v.asOf}`, [...v.currencies.map((c) => block(c, false)), ...(v.consolidated ? [block(v.consolidated, true)] : [])].join('\n'));
}

export function incomeStatementHtml(v: View<'incomeStatement'>): string {
  const block = (c: View<'incomeStatement'>['currencies'][number] & { rates?: Rate[] }, consolidated: boolean) => {
    const cur = c.currency;
    const part = (title: string, s: Section, figure: string) => (s.lines.length ? `<tr><th colspan="3">${title}</th></tr>${lineRows(s, cur)}<tr class="total"><td></td><td>Total ${title.toLowerCase()}</td>${num(s.totalMinor, cur, figure)}</tr>` : '');
    const result = (title: string, minor: number, figure: string, grand = false) => `<tr class="${grand ? 'grand' : 'total'}"><td></td><td>${title}</td>${num(minor, cur, figure)}</tr>`;
    return `
<section ${sectionAttr(c, consolidated)}><h2>${heading(c, consolidated)}</h2>${c.rates ? ratesTable(cur, c.rates) : ''}
<table><tr><th>Code</th><th>Account</th><th class="n">Amount</th></tr>
${part('Revenue', c.revenue, 'revenue')}${part('Contra revenue (less)', c.contraRevenue, 'contra-revenue')}${result('Net revenue', c.netRevenueMinor, 'net-revenue')}
${part('Cost of sales (less)', c.costOfSales, 'cost-of-sales')}${result('Gross profit', c.grossProfitMinor, 'gross-profit')}
${part('Expenses (less)', c.expenses, 'expenses')}${result('Operating income', c.operatingIncomeMinor, 'operating-income')}
${part('Other income', c.otherIncome, 'other-income')}${part('Other expense (less)', c.otherExpense, 'other-expense')}
${result('Net income', c.netIncomeMinor, 'net-income', true)}</table></section>`;
  };
  return page('Income statement', v, `${v.from} to ${v.to}`, [...v.currencies.map((c) => block(c, false)), ...(v.consolidated ? [block(v.consolidated, true)] : [])].join('\n'));
}

export function cashSummaryHtml(v: View<'cashSummary'>): string {
  type Block = View<'cashSummary'>['currencies'][number] & { rates?: Rate[]; totals: { roundingMinor?: number } };
  const block = (c: Block, consolidated: boolean) => {
    const cur = c.currency;
    const rounding = consolidated ? '<th class="n">Rounding</th>' : '';
    const row = (label: string, x: { openingMinor: number; inflowsMinor: number; outflowsMinor: number; closingMinor: number; roundingMinor?: number }, grand = false) =>
      `<tr${grand ? ' class="grand"' : ''}>${label}${num(x.openingMinor, cur, grand ? 'total-opening' : undefined)}${num(x.inflowsMinor, cur, grand ? 'total-inflows' : undefined)}${num(x.outflowsMinor, cur, grand ? 'total-outflows' : undefined)}${consolidated ? num(x.roundingMinor ?? 0, cur) : ''}${num(x.closingMinor, cur, grand ? 'total-closing' : undefined)}</tr>`;
    return `
<section ${sectionAttr(c, consolidated)}><h2>${heading(c, consolidated)}</h2>${c.rates ? ratesTable(cur, c.rates) : ''}
<table><tr><th>Code</th><th>Account</th><th class="n">Opening</th><th class="n">Inflows</th><th class="n">Outflows</th>${rounding}<th class="n">Closing</th></tr>
${c.accounts.map((a) => row(`<td>${esc(a.code)}</td><td>${esc(a.name)}</td>`, a)).join('')}${row('<td></td><td>Total</td>', c.totals, true)}</table></section>`;
  };
  return page('Cash summary', v, `${v.from} to ${v.to}`, [...v.currencies.map((c) => block(c, false)), ...(v.consolidated ? [block(v.consolidated, true)] : [])].join('\n'));
}

export function accountLedgerHtml(v: View<'accountLedger'>): string {
  const body = v.currencies
    .map(
      (c) => `
<section data-currency="${esc(c.currency)}"><h2>${esc(c.currency)}</h2>
<table><tr><th>Date</th><th>Description</th><th>Kind</th><th class="n">Debit</th><th class="n">Credit</th><th class="n">Balance</th></tr>
<tr><td>${esc(v.from)}</td><td>Opening balance</td><td></td><td></td><td></td>${num(c.openingMinor, c.currency, 'opening')}</tr>
${c.lines.map((l) => `<tr><td>${esc(l.accountingDate)}</td><td>${esc(l.description)}</td><td>${esc(l.kind)}</td>${l.debitMinor ? num(l.debitMinor, c.currency) : '<td></td>'}${l.creditMinor ? num(l.creditMinor, c.currency) : '<td></td>'}${num(l.balanceMinor, c.currency)}</tr>`).join('')}
<tr class="grand"><td>${esc(v.to)}</td><td>Closing balance</td><td></td><td></td><td></td>${num(c.closingMinor, c.currency, 'closing')}</tr></table></section>`,
    )
    .join('\n');
  const a = v.account;
  return page(`Account ${a.code} ${a.name}`, v, `${v.from} to ${v.to}`, `<p class="meta">${esc(a.type)} · ${esc(a.subtype)} · balances shown ${a.normalBalance}-positive</p>${body || '<p>No balance and no postings in this range.</p>'}`);
}

export function journalHtml(v: View<'journal'>, nextHref: string | null): string {
  const rows = v.data
    .map((e) => {
      const who = `${esc(e.createdBy)}${e.approvedBy ? `<br>approved by ${esc(e.approvedBy)}` : ''}`;
      const postings = e.postings
        .map((x) => `<tr><td></td><td>${esc(x.code)} ${esc(x.name)}</td><td>${esc(x.currency)}</td>${x.amountMinor > 0 ? num(x.amountMinor, x.currency) : '<td></td>'}${x.amountMinor < 0 ? num(-x.amountMinor, x.currency) : '<td></td>'}<td></td></tr>`)
        .join('');
      return `<tr class="total"><td>${esc(e.accountingDate)}</td><td>${esc(e.description)}</td><td>${esc(e.kind)}</td><td colspan="2"></td><td>${who}</td></tr>${postings}`;
    })
    .join('');
  return page(
    'Journal',
    v,
    `${v.from} to ${v.to}`,
    `<table><tr><th>Date</th><th>Entry / account</th><th>Kind / currency</th><th class="n">Debit</th><th class="n">Credit</th><th>Made by</th></tr>${rows}</table>
${nextHref ? `<p><a href="${esc(nextHref)}">Next page</a></p>` : '<p class="meta">End of the journal for this range.</p>'}`,
  );
}
