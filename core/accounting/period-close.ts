/**
 * The period close's pure rules: which month a run closes, whether it ends the fiscal year, the unrealised FX
 * revaluation of open foreign-currency balances, and the year-end closing entry. Workflow-safe (no I/O, no clock).
 */
import type { Currency } from '../money';
import type { AccountAmount, ChartAccount } from './chart';
import { AccountingError } from './errors';
import { convertMinor, pickRate, type FxRate } from './fx';

export interface PeriodRef {
  /** YYYY-MM-DD, the first day of the month. */
  periodStart: string;
  /** YYYY-MM-DD, its last day. */
  periodEnd: string;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** The calendar month holding a date (YYYY-MM-DD). */
export function monthOf(date: string): PeriodRef {
  const [y, m] = date.split('-').map(Number) as [number, number];
  const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return { periodStart: `${y}-${pad(m)}-01`, periodEnd: `${y}-${pad(m)}-${pad(last)}` };
}

/** The month before the one holding `date`: what a run on the first of a month closes. */
export function previousMonth(date: string): PeriodRef {
  const [y, m] = date.split('-').map(Number) as [number, number];
  return monthOf(m === 1 ? `${y - 1}-12-01` : `${y}-${pad(m - 1)}-01`);
}

/** The day after a date. */
export function nextDay(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

/** The calendar date of an instant in a time zone (IANA name). */
export function localDate(instant: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(instant);
  const get = (t: string) => parts.find((p) => p.type === t)!.value;
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/** Whether a month ends the fiscal year that starts in `fiscalYearStartMonth` (1 = January). */
export function endsFiscalYear(period: PeriodRef, fiscalYearStartMonth: number): boolean {
  const month = Number(period.periodEnd.slice(5, 7));
  return month === ((fiscalYearStartMonth + 10) % 12) + 1;
}

/** One monetary account's balance in one foreign currency over the period, as the ledger holds it. */
export interface ForeignBalance {
  accountId: string;
  currency: Currency;
  /** Debits minus credits before the period's first day. */
  openingDmc: bigint;
  /** The period's movements by accounting date. */
  movements: { date: string; dmc: bigint }[];
}

export interface RevaluationLine {
  accountId: string;
  currency: Currency;
  closingDmc: bigint;
  /** In the reporting currency: opening at the previous period end's rate plus each movement at its day's rate. */
  carryingMinor: bigint;
  /** In the reporting currency: the closing balance at the period end's rate. */
  revaluedMinor: bigint;
  /** revalued - carrying: a debit (gain on an asset, loss on a liability) when positive. */
  differenceMinor: bigint;
  rateDate: string;
  rate: string;
}

/**
 * Unrealised FX differences of open foreign-currency balances: each balance's carrying value in the reporting
 * currency (its opening at the rate of the day before the period, each movement at the rate of its day) against
 * its closing balance at the period end's rate, each conversion rounded half to even. A missing rate is a
 * `missing-rate` refusal naming the pair. Balances that are zero throughout give no line.
 */
export function revalue(balances: readonly ForeignBalance[], reporting: Currency, rates: readonly FxRate[], period: PeriodRef): RevaluationLine[] {
  const dayBefore = new Date(`${period.periodStart}T00:00:00Z`);
  dayBefore.setUTCDate(dayBefore.getUTCDate() - 1);
  const previousEnd = dayBefore.toISOString().slice(0, 10);
  const lines: RevaluationLine[] = [];
  for (const b of balances) {
    if (b.currency === reporting) continue;
    const closingDmc = b.openingDmc + b.movements.reduce((s, m) => s + m.dmc, 0n);
    if (closingDmc === 0n && b.openingDmc === 0n && b.movements.every((m) => m.dmc === 0n)) continue;
    let carrying = b.openingDmc === 0n ? 0n : convertMinor(b.openingDmc, pickRate(rates, b.currency, reporting, previousEnd));
    for (const m of b.movements) carrying += convertMinor(m.dmc, pickRate(rates, b.currency, reporting, m.date));
    const endRate = pickRate(rates, b.currency, reporting, period.periodEnd);
    const revalued = convertMinor(closingDmc, endRate);
    lines.push({ accountId: b.accountId, currency: b.currency, closingDmc, carryingMinor: carrying, revaluedMinor: revalued, differenceMinor: revalued - carrying, rateDate: endRate.rateDate, rate: endRate.rate });
  }
  return lines;
}

/** A posting of the close's own entries: account, currency, debit positive. */
export interface CloseLine {
  accountId: string;
  currency: Currency;
  amountMinor: bigint;
}

/** The revaluation entry's lines: each difference on its account, the total against the FX gain/loss account. */
export function revaluationLines(lines: readonly RevaluationLine[], reporting: Currency, fxGainLossId: string): CloseLine[] {
  const out: CloseLine[] = lines.filter((l) => l.differenceMinor !== 0n).map((l) => ({ accountId: l.accountId, currency: reporting, amountMinor: l.differenceMinor }));
  const total = out.reduce((s, l) => s + l.amountMinor, 0n);
  if (total !== 0n) out.push({ accountId: fxGainLossId, currency: reporting, amountMinor: -total });
  return out;
}

/**
 * The year-end closing entry: every revenue and expense balance brought to zero, per currency, the net (the year's
 * profit or loss) to retained earnings. `balances` are the accounts' balances as of the year's last day.
 */
export function closingLines(chart: readonly ChartAccount[], balances: readonly AccountAmount[], retainedEarningsId: string): CloseLine[] {
  const pnl = new Set(chart.filter((a) => a.type === 'revenue' || a.type === 'expense').map((a) => a.id));
  const out: CloseLine[] = [];
  const net = new Map<Currency, bigint>();
  for (const b of balances) {
    if (!pnl.has(b.accountId) || b.dmc === 0n) continue;
    out.push({ accountId: b.accountId, currency: b.currency, amountMinor: -b.dmc });
    net.set(b.currency, (net.get(b.currency) ?? 0n) + b.dmc);
  }
  for (const [currency, dmc] of [...net].sort(([a], [b]) => (a < b ? -1 : 1))) if (dmc !== 0n) out.push({ accountId: retainedEarningsId, currency, amountMinor: dmc });
  return out;
}

/** A trial balance's check: per currency, debits equal credits. */
export function unbalancedCurrencies(balances: readonly AccountAmount[]): { currency: Currency; differenceMinor: bigint }[] {
  const by = new Map<Currency, bigint>();
  for (const b of balances) by.set(b.currency, (by.get(b.currency) ?? 0n) + b.dmc);
  return [...by].filter(([, d]) => d !== 0n).map(([currency, differenceMinor]) => ({ currency, differenceMinor }));
}

export function assertIsoMonthStart(date: string): void {
  if (!/^\d{4}-(0[1-9]|1[0-2])-01$/.test(date)) throw new AccountingError('invalid', `${date} is not the first day of a month`);
}
