/**
 * Consolidation in a reporting currency: each account's balance in each currency converted with that currency's
 * rate as of the report date and rounded half to even, then added up per account. Rounding each account on its own
 * leaves the converted trial balance a few minor units out; that difference is put on the `rounding` system account
 * (and shown), so the consolidated trial balance balances and the balance sheet still adds up.
 */
import type { Currency } from '../money';
import { sum } from './amounts';
import type { AccountAmount, ChartAccount } from './chart';
import { AccountingError } from './errors';
import { convertMinor, pickRate, type FxRate, type RateUsed } from './fx';

/** One rate per foreign currency present (the reporting currency itself needs none). */
export function ratesFor(currencies: Iterable<Currency>, reporting: Currency, rows: readonly FxRate[], asOf: string): Map<Currency, RateUsed> {
  const out = new Map<Currency, RateUsed>();
  for (const c of [...new Set(currencies)].sort()) if (c !== reporting) out.set(c, pickRate(rows, c, reporting, asOf));
  return out;
}

function convertOne(amount: bigint, currency: Currency, reporting: Currency, rates: ReadonlyMap<Currency, RateUsed>): bigint {
  if (currency === reporting) return amount;
  const rate = rates.get(currency);
  if (!rate) throw new AccountingError('missing-rate', `No exchange rate ${currency}/${reporting}`, { currencyPair: `${currency}/${reporting}` });
  return convertMinor(amount, rate);
}

/** Each (account, currency) amount converted and rounded on its own, then summed per account. */
export function convertAmounts(amounts: readonly AccountAmount[], reporting: Currency, rates: ReadonlyMap<Currency, RateUsed>): AccountAmount[] {
  const byAccount = new Map<string, bigint>();
  for (const a of amounts) byAccount.set(a.accountId, (byAccount.get(a.accountId) ?? 0n) + convertOne(a.dmc, a.currency, reporting, rates));
  return [...byAccount].map(([accountId, dmc]) => ({ accountId, currency: reporting, dmc }));
}

/** Converted balances plus the rounding difference on the `rounding` account: they sum to zero again. */
export function consolidateBalances(chart: readonly ChartAccount[], balances: readonly AccountAmount[], reporting: Currency, rates: ReadonlyMap<Currency, RateUsed>) {
  const converted = convertAmounts(balances, reporting, rates);
  const roundingMinor = -sum(converted.map((a) => a.dmc));
  if (roundingMinor !== 0n) {
    const rounding = chart.find((a) => a.systemKey === 'rounding');
    if (!rounding) throw new AccountingError('invalid', 'the chart has no rounding account to carry the consolidation difference');
    converted.push({ accountId: rounding.id, currency: reporting, dmc: roundingMinor });
  }
  return { balances: converted, roundingMinor };
}

export interface CashLine {
  accountId: string;
  code: string;
  name: string;
  openingMinor: bigint;
  inflowsMinor: bigint;
  outflowsMinor: bigint;
  closingMinor: bigint;
}

/**
 * A cash summary in the reporting currency: opening, inflows, outflows and closing each converted at the one rate
 * and rounded; `roundingMinor` = converted closing - (opening + inflows - outflows), so each line still adds up.
 */
export function consolidateCash(perCurrency: readonly { currency: Currency; accounts: readonly CashLine[] }[], reporting: Currency, rates: ReadonlyMap<Currency, RateUsed>) {
  const byAccount = new Map<string, CashLine & { roundingMinor: bigint }>();
  for (const { currency, accounts } of perCurrency) {
    for (const a of accounts) {
      const c = (x: bigint) => convertOne(x, currency, reporting, rates);
      const line = byAccount.get(a.accountId) ?? { ...a, openingMinor: 0n, inflowsMinor: 0n, outflowsMinor: 0n, closingMinor: 0n, roundingMinor: 0n };
      line.openingMinor += c(a.openingMinor);
      line.inflowsMinor += c(a.inflowsMinor);
      line.outflowsMinor += c(a.outflowsMinor);
      line.closingMinor += c(a.closingMinor);
      line.roundingMinor = line.closingMinor - (line.openingMinor + line.inflowsMinor - line.outflowsMinor);
      byAccount.set(a.accountId, line);
    }
  }
  const accounts = [...byAccount.values()].sort((x, y) => (x.code < y.code ? -1 : 1));
  const total = (k: 'openingMinor' | 'inflowsMinor' | 'outflowsMinor' | 'closingMinor' | 'roundingMinor') => sum(accounts.map((a) => a[k]));
  return {
    accounts,
    totals: { openingMinor: total('openingMinor'), inflowsMinor: total('inflowsMinor'), outflowsMinor: total('outflowsMinor'), closingMinor: total('closingMinor'), roundingMinor: total('roundingMinor') },
  };
}
