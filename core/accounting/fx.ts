/**
 * Exchange rates and conversion, exactly: a rate is a decimal string (as PostgreSQL's numeric gives it), read as a
 * fraction by core/money; a converted amount is rounded once, half to even, to the target currency's minor unit.
 * A row says 1 `base` = `rate` `quote`; a pair can be converted with a row in either direction.
 */
import { divideRounded, isCurrency, minorUnitExponent, parseRate, type Currency } from '../money';
import { AccountingError } from './errors';

export interface FxRate {
  base: Currency;
  quote: Currency;
  /** Decimal, e.g. "0.0064" or "160". */
  rate: string;
  /** YYYY-MM-DD */
  rateDate: string;
}

/** The rate a report used for one currency, as shown next to the report. */
export interface RateUsed extends FxRate {
  from: Currency;
  to: Currency;
  /** `inverse`: the row is quoted the other way round (1 `to` = rate `from`); amounts are divided by it. */
  direction: 'direct' | 'inverse';
}

/** Up to 12 digits either side of the point (numeric(24, 12)), greater than zero. */
export const RATE_PATTERN = /^(?:0|[1-9][0-9]{0,11})(?:\.[0-9]{1,12})?$/;

export function isValidRate(text: string): boolean {
  return RATE_PATTERN.test(text) && /[1-9]/.test(text);
}

/**
 * Converts minor units of `rate.from` into minor units of `rate.to`, exactly, rounded once half to even (core/money's
 * divideRounded: the same rounding as every other conversion). A bigint, since a balance may pass 2^53.
 */
export function convertMinor(amount: bigint, rate: RateUsed): bigint {
  const r = parseRate(rate.rate);
  const fromScale = 10n ** BigInt(minorUnitExponent(rate.from));
  const toScale = 10n ** BigInt(minorUnitExponent(rate.to));
  // amount / 10^fromExp major units of `from`, times the rate (or divided by it, when quoted the other way round),
  // times 10^toExp minor units of `to`.
  const [num, den] = rate.direction === 'direct' ? [r.numerator, r.denominator] : [r.denominator, r.numerator];
  return divideRounded(amount * num * toScale, den * fromScale, 'half-even');
}

/**
 * The rate for converting `from` into `to` as of a date: the latest row on or before it, quoted either way round
 * (a direct row wins a tie). No such row is a `missing-rate` refusal naming the pair.
 */
export function pickRate(rows: readonly FxRate[], from: Currency, to: Currency, asOf: string): RateUsed {
  let best: RateUsed | undefined;
  for (const r of rows) {
    if (r.rateDate > asOf) continue;
    const direction = r.base === from && r.quote === to ? 'direct' : r.base === to && r.quote === from ? 'inverse' : undefined;
    if (!direction) continue;
    if (!best || r.rateDate > best.rateDate || (r.rateDate === best.rateDate && direction === 'direct')) best = { ...r, from, to, direction };
  }
  if (!best) {
    throw new AccountingError('missing-rate', `No exchange rate ${from}/${to} (or ${to}/${from}) on or before ${asOf}`, { currencyPair: `${from}/${to}`, asOf });
  }
  return best;
}

export interface RateCsvRow extends FxRate {
  source?: string;
}

/**
 * A CSV of rates: a header naming `base,quote,date,rate` (and optionally `source`), in any order, then one rate a
 * line. Every bad line is reported with its number; nothing is accepted from a file with any bad line.
 */
export function parseRatesCsv(text: string): { rows: RateCsvRow[]; errors: { line: number; message: string }[] } {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const errors: { line: number; message: string }[] = [];
  const header = (lines[0] ?? '').split(',').map((h) => h.trim().toLowerCase());
  const col = (name: string) => header.indexOf(name);
  const missing = ['base', 'quote', 'date', 'rate'].filter((h) => col(h) < 0);
  if (missing.length) return { rows: [], errors: [{ line: 1, message: `the header must name base, quote, date and rate (missing ${missing.join(', ')})` }] };
  const rows: RateCsvRow[] = [];
  const seen = new Set<string>();
  lines.slice(1).forEach((raw, i) => {
    const line = i + 2;
    if (raw.trim() === '') return;
    const cells = raw.split(',').map((c) => c.trim());
    if (cells.length !== header.length) return void errors.push({ line, message: `expected ${header.length} fields, found ${cells.length}` });
    const [base, quote, date, rate] = ['base', 'quote', 'date', 'rate'].map((h) => cells[col(h)]!);
    const source = col('source') >= 0 ? cells[col('source')] : undefined;
    if (!isCurrency(base!) || !isCurrency(quote!)) return void errors.push({ line, message: `unknown currency in ${base}/${quote}` });
    if (base === quote) return void errors.push({ line, message: 'base and quote must differ' });
    if (!isIsoDate(date!)) return void errors.push({ line, message: `not a date (YYYY-MM-DD): ${JSON.stringify(date)}` });
    if (!isValidRate(rate!)) return void errors.push({ line, message: `not a positive decimal rate with at most 12 digits each side: ${JSON.stringify(rate)}` });
    if (source !== undefined && (source.length < 1 || source.length > 100)) return void errors.push({ line, message: 'source must be 1 to 100 characters' });
    const key = `${base}/${quote}/${date}`;
    if (seen.has(key)) return void errors.push({ line, message: `${key} appears twice` });
    seen.add(key);
    rows.push({ base, quote, rateDate: date!, rate: rate!, ...(source ? { source } : {}) });
  });
  if (rows.length === 0 && errors.length === 0) errors.push({ line: 2, message: 'no rates after the header' });
  return { rows, errors };
}

/** A real calendar date written YYYY-MM-DD (no Date object: pure and zone-free). */
export function isIsoDate(s: string): boolean {
  const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1];
  return y >= 1900 && days !== undefined && d >= 1 && d <= days;
}
