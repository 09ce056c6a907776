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

// ------------------------------------------------------------------------------------------ rounding, allocation

/** How a quotient that is not whole becomes whole minor units. */
export type RoundingMode = 'half-up' | 'half-even' | 'half-down' | 'up' | 'down' | 'ceiling' | 'floor';

/**
 * numerator / denominator rounded to an integer with an explicit mode, exactly (bigint). `half-up` rounds ties
 * away from zero (invoice tax), `half-even` to the even neighbour (banker's rounding: FX conversion), `up`/`down`
 * away from / toward zero, `ceiling`/`floor` toward +/- infinity.
 */
export function divideRounded(numerator: bigint, denominator: bigint, mode: RoundingMode): bigint {
  if (denominator === 0n) throw new RangeError('division by zero');
  if (denominator < 0n) return divideRounded(-numerator, -denominator, mode);
  const q = numerator / denominator; // truncates toward zero
  const r = numerator % denominator; // same sign as the numerator
  if (r === 0n) return q;
  const sign = numerator < 0n ? -1n : 1n;
  const twice = 2n * (r < 0n ? -r : r);
  const away = q + sign;
  switch (mode) {
    case 'down':
      return q;
    case 'up':
      return away;
    case 'floor':
      return sign < 0n ? away : q;
    case 'ceiling':
      return sign > 0n ? away : q;
    case 'half-up':
      return twice >= denominator ? away : q;
    case 'half-down':
      return twice > denominator ? away : q;
    case 'half-even':
      if (twice !== denominator) return twice > denominator ? away : q;
      return q % 2n === 0n ? q : away;
  }
}

function toSafe(n: bigint): number {
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < -BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('amount overflow');
  return Number(n);
}

/**
 * Splits an amount into parts proportional to `weights` (non-negative integers, not all zero) without losing or
 * inventing a minor unit: each part gets the floor of its share, and the units left over go one each to the parts
 * with the largest remainders (ties to the earlier part). Negative amounts split as the mirror of positive ones.
 */
export function allocate(m: Money, weights: readonly number[]): Money[] {
  if (weights.length === 0) throw new RangeError('allocate needs at least one weight');
  if (!weights.every((w) => Number.isSafeInteger(w) && w >= 0)) throw new RangeError('weights are non-negative integers');
  const total = weights.reduce((a, b) => a + BigInt(b), 0n);
  if (total === 0n) throw new RangeError('weights must not all be zero');
  const negative = m.amountMinor < 0;
  const amount = BigInt(Math.abs(m.amountMinor));
  const shares = weights.map((w, i) => ({ i, floor: (amount * BigInt(w)) / total, rem: (amount * BigInt(w)) % total }));
  let left = amount - shares.reduce((a, s) => a + s.floor, 0n);
  const order = [...shares].sort((a, b) => (b.rem > a.rem ? 1 : b.rem < a.rem ? -1 : a.i - b.i));
  for (const s of order) {
    if (left === 0n) break;
    s.floor += 1n;
    left -= 1n;
  }
  return shares.map((s) => money(toSafe(negative ? -s.floor : s.floor) || 0, m.currency));
}

/** Parses a positive decimal rate ("1.0835", "0.0061") into an exact fraction. */
export function parseRate(rate: string): { numerator: bigint; denominator: bigint } {
  const match = /^(\d{1,12})(?:\.(\d{1,12}))?$/.exec(rate);
  if (!match) throw new RangeError(`a rate is a positive decimal with up to 12 places, got ${JSON.stringify(rate)}`);
  const frac = match[2] ?? '';
  const numerator = BigInt(match[1]! + frac);
  if (numerator === 0n) throw new RangeError('a rate is positive');
  return { numerator, denominator: 10n ** BigInt(frac.length) };
}

/**
 * Converts an amount at `rate` (1 unit of m.currency = rate units of `to`, major units) into `to`'s minor units,
 * exactly, rounded once with `mode` (half-even unless said otherwise). Exponents come from ISO 4217: 1000 JPY
 * at 0.0061 EUR per yen is 610 euro cents.
 */
export function convert(m: Money, rate: string, to: Currency, mode: RoundingMode = 'half-even'): Money {
  const r = parseRate(rate);
  const scaleFrom = 10n ** BigInt(minorUnitExponent(m.currency));
  const scaleTo = 10n ** BigInt(minorUnitExponent(to));
  return money(toSafe(divideRounded(BigInt(m.amountMinor) * r.numerator * scaleTo, r.denominator * scaleFrom, mode)), to);
}
