/**
 * Exchange rates and conversion, exactly: a rate is a decimal string (as PostgreSQL's numeric gives it), read as a
 * fraction by core/money; a converted amount is rounded once, half to even, to the target currency's minor unit.
 * A row says 1 `base` = `rate` `quote`; a pair can be converted with a row in either direction.
 */
import { divideRounded, isCurrency, minorUnitExponent, parseRate, type Currency } from '../money';
import { containsCardNumber } from '../security/card-numbers';
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
 * A CSV of rates: a header naming `base,quote,date,rate` (and optionally `source`), in any order, each once, then one
 * rate a line. Fields may be quoted as RFC 4180 has it ("ECB, daily"; "" for a quote); lines end in CRLF, LF or CR.
 * Every bad line is reported with its number; nothing is accepted from a file with any bad line.
 */
export function parseRatesCsv(text: string): { rows: RateCsvRow[]; errors: { line: number; message: string }[] } {
  const records = csvRecords(text.replace(/^\uFEFF/, ''));
  const errors: { line: number; message: string }[] = [];
  const head = records[0];
  if (head?.error) return { rows: [], errors: [{ line: 1, message: head.error }] };
  const header = (head?.cells ?? []).map((h) => h.trim().toLowerCase());
  const col = (name: string) => header.indexOf(name);
  const missing = ['base', 'quote', 'date', 'rate'].filter((h) => col(h) < 0);
  if (missing.length) return { rows: [], errors: [{ line: 1, message: `the header must name base, quote, date and rate (missing ${missing.join(', ')})` }] };
  const twice = [...new Set(header.filter((h, i) => h !== '' && header.indexOf(h) !== i))];
  if (twice.length) return { rows: [], errors: [{ line: 1, message: `the header names ${twice.join(', ')} more than once` }] };
  // An unnamed column (a trailing comma) is no claim about the rates; a named one the file means something by.
  const unknown = header.filter((h) => h !== '' && !RATE_COLUMNS.includes(h));
  if (unknown.length) return { rows: [], errors: [{ line: 1, message: `the header may name base, quote, date, rate and source only (unknown: ${unknown.map((h) => JSON.stringify(h)).join(', ')})` }] };
  const rows: RateCsvRow[] = [];
  const seen = new Set<string>();
  for (const { line, cells: raw, error } of records.slice(1)) {
    if (error) {
      errors.push({ line, message: error });
      continue;
    }
    const cells = raw!.map((c) => c.trim());
    if (cells.length === 1 && cells[0] === '') continue;
    if (cells.length !== header.length) {
      errors.push({ line, message: `expected ${header.length} fields, found ${cells.length}` });
      continue;
    }
    const [base, quote, date, rate] = ['base', 'quote', 'date', 'rate'].map((h) => cells[col(h)]!);
    const source = col('source') >= 0 ? cells[col('source')] : undefined;
    const problem =
      !isCurrency(base!) || !isCurrency(quote!)
        ? `unknown currency in ${base}/${quote}`
        : base === quote
          ? 'base and quote must differ'
          : !isIsoDate(date!)
            ? `not a date (YYYY-MM-DD): ${JSON.stringify(date)}`
            : !isValidRate(rate!)
              ? `not a positive decimal rate with at most 12 digits each side: ${JSON.stringify(rate)}`
              : source !== undefined && (source.length < 1 || source.length > 100)
                ? 'source must be 1 to 100 characters'
                : source !== undefined && containsCardNumber(source)
                  ? 'source must not contain a card number'
                  : seen.has(`${base}/${quote}/${date}`)
                    ? `${base}/${quote}/${date} appears twice`
                    : undefined;
    if (problem) {
      errors.push({ line, message: problem });
      continue;
    }
    seen.add(`${base}/${quote}/${date}`);
    rows.push({ base, quote, rateDate: date!, rate: rate!, ...(source ? { source } : {}) } as RateCsvRow);
  }
  if (rows.length === 0 && errors.length === 0) errors.push({ line: 2, message: 'no rates after the header' });
  return { rows, errors };
}

const RATE_COLUMNS = ['base', 'quote', 'date', 'rate', 'source'];

/**
 * RFC 4180 records, each with the line it starts on: fields separated by commas, optionally quoted (a quote inside
 * doubled, commas and line ends inside allowed); a record ends at CRLF, LF or CR. A malformed record carries an error.
 */
function csvRecords(text: string): { line: number; cells?: string[]; error?: string }[] {
  const records: { line: number; cells?: string[]; error?: string }[] = [];
  const endOfField = (c: string | undefined) => c === undefined || c === ',' || c === '\n' || c === '\r';
  let i = 0;
  let line = 1;
  while (i < text.length) {
    const start = line;
    const cells: string[] = [];
    let error: string | undefined;
    for (;;) {
      let cell = '';
      if (text[i] === '"') {
        i++;
        for (;;) {
          const c = text[i];
          if (c === undefined) {
            error = 'a quoted field is not closed';
            break;
          }
          if (c === '"' && text[i + 1] === '"') {
            cell += '"';
            i += 2;
          } else if (c === '"') {
            i++;
            break;
          } else {
            if (c === '\n' || (c === '\r' && text[i + 1] !== '\n')) line++;
            cell += c;
            i++;
          }
        }
        if (!error && !endOfField(text[i])) error = 'a quoted field must end at a comma or the end of the line';
      } else {
        while (!endOfField(text[i])) {
          if (text[i] === '"') error ??= 'a quote inside an unquoted field (quote the whole field, doubling the quote)';
          cell += text[i];
          i++;
        }
      }
      cells.push(cell);
      if (error) while (!endOfField(text[i]) || text[i] === ',') i++;
      if (text[i] !== ',') break;
      i++;
    }
    i += text[i] === '\r' && text[i + 1] === '\n' ? 2 : text[i] === undefined ? 0 : 1;
    line++;
    records.push(error ? { line: start, error } : { line: start, cells });
  }
  return records;
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
