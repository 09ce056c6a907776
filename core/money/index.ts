/**
 * Money: integer minor units with an ISO 4217 currency, never floats. All arithmetic on amounts lives here.
 * Pure and workflow-safe.
 */

/** Minor-unit exponents that differ from 2 (ISO 4217). Every other listed currency has 2. */
const EXPONENT_OVERRIDES: Record<string, number> = {
  BIF: 0, CLP: 0, DJF: 0, GNF: 0, ISK: 0, JPY: 0, KMF: 0, KRW: 0, PYG: 0, RWF: 0, UGX: 0, UYI: 0, VND: 0, VUV: 0, XAF: 0, XOF: 0, XPF: 0,
  BHD: 3, IQD: 3, JOD: 3, KWD: 3, LYD: 3, OMR: 3, TND: 3,
  CLF: 4, UYW: 4,
};

/** Currencies FinFlow accepts: ISO 4217 active codes in common commercial use. */
export const CURRENCIES = [
  'AED', 'AUD', 'BGN', 'BHD', 'BRL', 'CAD', 'CHF', 'CLP', 'CNY', 'COP', 'CZK', 'DKK', 'EGP', 'EUR', 'GBP', 'HKD', 'HUF',
  'IDR', 'ILS', 'INR', 'ISK', 'JOD', 'JPY', 'KES', 'KRW', 'KWD', 'MAD', 'MXN', 'MYR', 'NGN', 'NOK', 'NZD', 'OMR', 'PEN',
  'PHP', 'PKR', 'PLN', 'QAR', 'RON', 'RSD', 'SAR', 'SEK', 'SGD', 'THB', 'TND', 'TRY', 'TWD', 'UAH', 'UGX', 'USD', 'VND',
  'XAF', 'XOF', 'ZAR',
] as const;
export type Currency = (typeof CURRENCIES)[number];

const KNOWN = new Set<string>(CURRENCIES);

export function isCurrency(code: string): code is Currency {
  return KNOWN.has(code);
}

export function minorUnitExponent(currency: Currency): number {
  return EXPONENT_OVERRIDES[currency] ?? 2;
}

export interface Money {
  amountMinor: number;
  currency: Currency;
}

/** Largest amount FinFlow moves in one operation, in minor units (exact in a double, and in Postgres bigint). */
export const MAX_AMOUNT_MINOR = Number.MAX_SAFE_INTEGER;

export function isValidAmountMinor(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n);
}

export function money(amountMinor: number, currency: Currency): Money {
  if (!isValidAmountMinor(amountMinor)) throw new RangeError(`amount must be a safe integer of minor units, got ${amountMinor}`);
  if (!isCurrency(currency)) throw new RangeError(`unknown currency ${String(currency)}`);
  return { amountMinor, currency };
}

function sameCurrency(a: Money, b: Money) {
  if (a.currency !== b.currency) throw new RangeError(`currency mismatch: ${a.currency} and ${b.currency}`);
}

function checked(n: number): number {
  if (!Number.isSafeInteger(n)) throw new RangeError('amount overflow');
  return n;
}

export function add(a: Money, b: Money): Money {
  sameCurrency(a, b);
  return { amountMinor: checked(a.amountMinor + b.amountMinor), currency: a.currency };
}

export function subtract(a: Money, b: Money): Money {
  sameCurrency(a, b);
  return { amountMinor: checked(a.amountMinor - b.amountMinor), currency: a.currency };
}

export function negate(a: Money): Money {
  return { amountMinor: a.amountMinor === 0 ? 0 : -a.amountMinor, currency: a.currency };
}

export function compare(a: Money, b: Money): -1 | 0 | 1 {
  sameCurrency(a, b);
  return a.amountMinor < b.amountMinor ? -1 : a.amountMinor > b.amountMinor ? 1 : 0;
}

/** "12.34 EUR", "1200 JPY", "1.500 KWD": exact, from integers only. */
export function format(m: Money): string {
  const exp = minorUnitExponent(m.currency);
  const sign = m.amountMinor < 0 ? '-' : '';
  const digits = String(Math.abs(m.amountMinor)).padStart(exp + 1, '0');
  const whole = exp === 0 ? digits : `${digits.slice(0, -exp)}.${digits.slice(-exp)}`;
  return `${sign}${whole} ${m.currency}`;
}
