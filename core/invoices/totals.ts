/**
 * An invoice's lines and totals. Amounts are integer minor units; a tax rate is in basis points (1900 = 19 %).
 * Tax is rounded once per invoice, half up (ties away from zero): the exact tax of every line is summed, then
 * rounded, so an invoice of many small lines carries no accumulated per-line rounding. Pure and workflow-safe.
 */
import { divideRounded, MAX_AMOUNT_MINOR } from '../money';

export interface InvoiceLine {
  description: string;
  /** Whole units (hours, items). */
  quantity: number;
  unitPriceMinor: number;
  /** Basis points: 0..10000 (0 % to 100 %). */
  taxRateBp: number;
}

export interface InvoiceTotals {
  /** Net per line: quantity x unit price, in line order. */
  lineNetMinor: number[];
  subtotalMinor: number;
  taxMinor: number;
  totalMinor: number;
}

export const MAX_LINES = 200;
export const MAX_QUANTITY = 1_000_000;
export const MAX_TAX_RATE_BP = 10_000;

/** What is wrong with a set of lines, or undefined: for validators and the API alike. */
export function lineProblem(lines: readonly InvoiceLine[]): string | undefined {
  if (lines.length > MAX_LINES) return `an invoice has at most ${MAX_LINES} lines`;
  for (const [i, l] of lines.entries()) {
    if (typeof l.description !== 'string' || l.description.trim().length === 0 || [...l.description].length > 500) return `line ${i + 1}: a description of 1 to 500 characters is required`;
    if (!Number.isSafeInteger(l.quantity) || l.quantity < 1 || l.quantity > MAX_QUANTITY) return `line ${i + 1}: quantity must be a whole number from 1 to ${MAX_QUANTITY}`;
    if (!Number.isSafeInteger(l.unitPriceMinor) || l.unitPriceMinor < 0) return `line ${i + 1}: unitPriceMinor must be a non-negative whole number of minor units`;
    if (!Number.isSafeInteger(l.taxRateBp) || l.taxRateBp < 0 || l.taxRateBp > MAX_TAX_RATE_BP) return `line ${i + 1}: taxRateBp must be a whole number of basis points from 0 to ${MAX_TAX_RATE_BP}`;
  }
  const total = invoiceTotalsUnchecked(lines).totalMinor;
  if (total > MAX_AMOUNT_MINOR) return 'the invoice total is too large';
  return undefined;
}

function invoiceTotalsUnchecked(lines: readonly InvoiceLine[]) {
  const nets = lines.map((l) => BigInt(l.quantity) * BigInt(l.unitPriceMinor));
  const subtotal = nets.reduce((a, b) => a + b, 0n);
  // Exact tax of every line, in 1/10000 of a minor unit, rounded once.
  const exactTax = lines.reduce((a, l, i) => a + nets[i]! * BigInt(l.taxRateBp), 0n);
  const tax = divideRounded(exactTax, 10_000n, 'half-up');
  return { nets, subtotal, tax, totalMinor: Number(subtotal + tax) };
}

export function invoiceTotals(lines: readonly InvoiceLine[]): InvoiceTotals {
  const problem = lineProblem(lines);
  if (problem) throw new RangeError(problem);
  const t = invoiceTotalsUnchecked(lines);
  return { lineNetMinor: t.nets.map(Number), subtotalMinor: Number(t.subtotal), taxMinor: Number(t.tax), totalMinor: Number(t.subtotal + t.tax) };
}
