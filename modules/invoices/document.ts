/**
 * The printable invoice: server-rendered HTML with inline styles, no scripts and no external assets, rendered once
 * at issue and kept with the invoice. Figures are formatted from integer minor units; every text is escaped.
 */
import { minorUnitExponent } from '../../core/money';
import type { InvoiceView } from './rows';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function formatMinor(minor: number, currency: InvoiceView['currency']): string {
  const exp = minorUnitExponent(currency);
  const digits = String(Math.abs(minor)).padStart(exp + 1, '0');
  const whole = digits.slice(0, digits.length - exp).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${minor < 0 ? '-' : ''}${whole}${exp ? `.${digits.slice(-exp)}` : ''}`;
}

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;color:#111;margin:2rem auto;max-width:50rem;padding:0 1rem}
h1{font-size:1.5rem;margin:0 0 .5rem}table{border-collapse:collapse;width:100%;margin:1rem 0}
th,td{padding:.25rem .5rem;border-bottom:1px solid #ddd;text-align:left}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.total td{font-weight:600;border-top:2px solid #111}.meta{color:#444}@media print{body{margin:0}}`;

export function renderInvoiceHtml(invoice: InvoiceView, seller: { name: string }): string {
  const money = (minor: number) => formatMinor(minor, invoice.currency);
  const rows = invoice.lines
    .map((l) => `<tr><td>${esc(l.description)}</td><td class="n">${l.quantity}</td><td class="n">${money(l.unitPriceMinor)}</td><td class="n">${(l.taxRateBp / 100).toFixed(2)} %</td><td class="n">${money(l.netMinor)}</td></tr>`)
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Invoice ${esc(invoice.number ?? 'draft')}</title><style>${STYLE}</style></head><body>
<h1>Invoice <span data-figure="number">${esc(invoice.number ?? 'draft')}</span></h1>
<p class="meta">From <span data-figure="seller">${esc(seller.name)}</span> to customer <span data-figure="customer">${esc(invoice.customerId)}</span></p>
<p class="meta">Issued <span data-figure="issue-date">${esc(invoice.issueDate ?? '')}</span>, due <span data-figure="due-date">${esc(invoice.dueDate ?? '')}</span>${invoice.terms ? ` (${esc(invoice.terms.replace('_', ' '))})` : ''}</p>
<table><thead><tr><th>Description</th><th class="n">Qty</th><th class="n">Unit price</th><th class="n">Tax</th><th class="n">Net</th></tr></thead><tbody>${rows}</tbody>
<tfoot><tr><td colspan="4">Subtotal</td><td class="n" data-figure="subtotal">${money(invoice.subtotalMinor)}</td></tr>
<tr><td colspan="4">Tax (rounded half up, once per invoice)</td><td class="n" data-figure="tax">${money(invoice.taxMinor)}</td></tr>
<tr class="total"><td colspan="4">Total ${esc(invoice.currency)}</td><td class="n" data-figure="total">${money(invoice.totalMinor)}</td></tr></tfoot></table>
${invoice.note ? `<p>${esc(invoice.note)}</p>` : ''}</body></html>`;
}
