/**
 * The receivables ageing as a printable page: server-rendered HTML, inline styles, no scripts, nothing external.
 * Figures are formatted from integer minor units; every text is escaped.
 */
import { AGEING_BUCKETS, type AgeingReport, type BucketAmounts } from '../../core/invoices';
import type { Currency } from '../../core/money';
import { formatMinor } from '../accounting/html';

export { REPORT_CSP } from '../accounting/html';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const STYLE = `body{font:14px/1.45 system-ui,sans-serif;color:#111;margin:2rem auto;max-width:60rem;padding:0 1rem}
h1{font-size:1.5rem;margin:0}h2{font-size:1.15rem;margin:2rem 0 .5rem;border-bottom:2px solid #111}.meta{color:#444}
table{border-collapse:collapse;width:100%}th,td{padding:.2rem .5rem;border-bottom:1px solid #ddd;text-align:left}
th{background:#f3f3f3}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}tr.total td{font-weight:600;border-top:2px solid #111}`;

export function ageingHtml(report: AgeingReport, tenantName: string): string {
  const sections = report.currencies
    .map((c) => {
      const money = (m: number) => formatMinor(m, c.currency as Currency);
      const cells = (row: BucketAmounts, figure?: string) =>
        [...AGEING_BUCKETS, 'totalMinor'].map((b) => `<td class="n"${figure ? ` data-figure="${figure}-${b === 'totalMinor' ? 'total' : b}"` : ''}>${money(row[b as keyof BucketAmounts])}</td>`).join('');
      const rows = c.customers.map((r) => `<tr data-customer="${esc(r.customerId)}"><td>${esc(r.customerId)}</td>${cells(r)}</tr>`).join('');
      return `<section data-currency="${esc(c.currency)}"><h2>${esc(c.currency)}</h2><table><thead><tr><th>Customer</th>${AGEING_BUCKETS.map((b) => `<th class="n">${b === 'current' ? 'Current' : `${b} days`}</th>`).join('')}<th class="n">Total</th></tr></thead>
<tbody>${rows}</tbody><tfoot><tr class="total"><td>Total</td>${cells(c.total, 'total')}</tr></tfoot></table></section>`;
    })
    .join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Receivables ageing ${esc(report.asOf)}</title><style>${STYLE}</style></head><body>
<h1>Receivables ageing</h1><p class="meta"><span data-figure="tenant">${esc(tenantName)}</span>, <span data-figure="as-of">as of ${esc(report.asOf)}</span>: what customers still owe, by days past the due date, per currency</p>
${sections || '<p>Nothing is owed.</p>'}</body></html>`;
}
