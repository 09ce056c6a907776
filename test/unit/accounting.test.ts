/**
 * core/accounting without a database: exact conversion with half-even rounding in either rate direction, the rate
 * a report picks, rate files, the consolidation rounding line, statement signs, and figures too large for JSON.
 */
import {
  AccountingError,
  balanceSheet,
  consolidateBalances,
  convertMinor,
  incomeStatement,
  parseRatesCsv,
  pickRate,
  safeMinor,
  toJsonSafe,
  trialBalance,
  type AccountAmount,
  type ChartAccount,
  type FxRate,
  type RateUsed,
} from '../../core/accounting';
import type { Currency } from '../../core/money';

const rate = (from: Currency, to: Currency, r: string, direction: 'direct' | 'inverse' = 'direct'): RateUsed =>
  direction === 'direct' ? { from, to, base: from, quote: to, rate: r, rateDate: '2025-01-31', direction } : { from, to, base: to, quote: from, rate: r, rateDate: '2025-01-31', direction };

describe('convertMinor', () => {
  it.each([
    // yen -> euro cents at 1 JPY = 0.006389 EUR: 5,000 yen is 3,194.5 cents, a tie, to the even 3,194
    [5_000n, rate('JPY', 'EUR', '0.006389'), 3_194n],
    [15_000n, rate('JPY', 'EUR', '0.006389'), 9_584n], // 9,583.5: to the even 9,584
    [-5_000n, rate('JPY', 'EUR', '0.006389'), -3_194n],
    [854_520n, rate('JPY', 'EUR', '0.006389'), 545_953n], // 545,952.828
    // quoted the other way round (1 EUR = 160 JPY): divided, 911,812 yen is 569,882.5 cents -> 569,882
    [911_812n, rate('JPY', 'EUR', '160', 'inverse'), 569_882n],
    [41_188n, rate('JPY', 'EUR', '160', 'inverse'), 25_742n],
    [41_196n, rate('JPY', 'EUR', '160', 'inverse'), 25_748n], // 25,747.5 -> 25,748 (even)
    // euro cents -> yen: 1.23 EUR at 160 is 196.8 yen
    [123n, rate('EUR', 'JPY', '160'), 197n],
    // three decimals: 1.500 KWD at 2.9876 EUR is 4.4814 EUR
    [1_500n, rate('KWD', 'EUR', '2.9876'), 448n],
    // beyond 2^53: still exact
    [2n ** 60n, rate('EUR', 'USD', '2'), 2n ** 61n],
  ])('%p at %p is %p', (amount, r, want) => {
    expect(convertMinor(amount, r)).toBe(want);
  });
});

describe('pickRate', () => {
  const rows: FxRate[] = [
    { base: 'EUR', quote: 'JPY', rate: '160', rateDate: '2025-01-31' },
    { base: 'JPY', quote: 'EUR', rate: '0.006389', rateDate: '2025-02-28' },
    { base: 'EUR', quote: 'JPY', rate: '157', rateDate: '2025-02-28' },
    { base: 'JPY', quote: 'EUR', rate: '0.0061', rateDate: '2025-03-31' },
  ];

  it('takes the latest rate on or before the date, quoted either way round, a direct one on a tie', () => {
    expect(pickRate(rows, 'JPY', 'EUR', '2025-02-15')).toMatchObject({ rate: '160', direction: 'inverse', rateDate: '2025-01-31' });
    expect(pickRate(rows, 'JPY', 'EUR', '2025-02-28')).toMatchObject({ rate: '0.006389', direction: 'direct' });
    expect(pickRate(rows, 'EUR', 'JPY', '2025-02-28')).toMatchObject({ rate: '157', direction: 'direct' });
    expect(pickRate(rows, 'JPY', 'EUR', '2025-12-31')).toMatchObject({ rate: '0.0061', rateDate: '2025-03-31' });
  });

  it('refuses a date before any rate of the pair, naming the pair', () => {
    expect(() => pickRate(rows, 'JPY', 'EUR', '2025-01-30')).toThrow(expect.objectContaining({ code: 'missing-rate', details: expect.objectContaining({ currencyPair: 'JPY/EUR' }) }));
    expect(() => pickRate(rows, 'USD', 'EUR', '2025-12-31')).toThrow(AccountingError);
  });
});

describe('parseRatesCsv', () => {
  it('reads the columns in any order, with an optional source', () => {
    expect(parseRatesCsv('rate,date,quote,base\r\n0.0064,2025-02-28,EUR,JPY\r\n')).toEqual({ rows: [{ base: 'JPY', quote: 'EUR', rateDate: '2025-02-28', rate: '0.0064' }], errors: [] });
  });

  it('names every bad line and accepts none of the file', () => {
    const { rows, errors } = parseRatesCsv('base,quote,date,rate\nJPY,EUR,2025-02-28,0.0064\nJPY,XXX,2025-02-28,1\nJPY,EUR,2025-02-29,1\nJPY,EUR,2025-02-27,-1\nJPY,EUR,2025-02-27,0\nJPY,EUR,2025-02-28,0.0065\n');
    expect(rows).toHaveLength(1);
    expect(errors.map((e) => e.line)).toEqual([3, 4, 5, 6, 7]);
    expect(parseRatesCsv('from,to,rate\n').errors[0]!.message).toContain('missing base, quote, date');
  });
});

const account = (id: string, code: string, type: ChartAccount['type'], subtype: ChartAccount['subtype'], systemKey: string | null = null): ChartAccount => ({
  id,
  code,
  name: code,
  type,
  subtype,
  isCash: false,
  systemKey,
  normalBalance: ['contra_asset', 'current_liability', 'non_current_liability', 'equity', 'revenue', 'other_income'].includes(subtype) ? 'credit' : 'debit',
});
const chart = [
  account('cash', '1000', 'asset', 'current_asset'),
  account('allowance', '1210', 'asset', 'contra_asset'),
  account('tax', '2100', 'liability', 'current_liability'),
  account('equity', '3000', 'equity', 'equity'),
  account('sales', '4000', 'revenue', 'revenue'),
  account('refunds', '4900', 'revenue', 'contra_revenue'),
  account('fees', '5000', 'expense', 'cost_of_sales'),
  account('interest', '8000', 'revenue', 'other_income'),
  account('rounding', '7200', 'expense', 'other_expense', 'rounding'),
];
const amounts = (currency: Currency, pairs: Record<string, bigint>): AccountAmount[] => Object.entries(pairs).map(([accountId, dmc]) => ({ accountId, currency, dmc }));

describe('the statements', () => {
  const books = amounts('EUR', { cash: 10_000n, allowance: -500n, tax: -1_900n, equity: -5_000n, sales: -4_000n, refunds: 300n, fees: 100n, interest: -1_000n, rounding: 2_000n });

  it('put a contra asset against assets, contra revenue against revenue, and current earnings into the check', () => {
    const bs = balanceSheet(chart, books);
    expect(bs.assets.totalMinor).toBe(9_500n);
    expect(bs.assets.sections.find((s) => s.subtype === 'contra_asset')!.lines).toEqual([{ accountId: 'allowance', code: '1210', name: '1210', amountMinor: -500n }]);
    expect(bs.currentEarningsMinor).toBe(2_600n); // 4,000 - 300 - 100 + 1,000 - 2,000
    expect(bs.totalLiabilitiesAndEquityMinor).toBe(9_500n);
    expect(bs.balanced).toBe(true);
    const is = incomeStatement(chart, books);
    expect([is.revenue.totalMinor, is.contraRevenue.totalMinor, is.netRevenueMinor, is.grossProfitMinor, is.otherIncome.totalMinor, is.otherExpense.totalMinor, is.netIncomeMinor]).toEqual([
      4_000n, 300n, 3_700n, 3_600n, 1_000n, 2_000n, 2_600n,
    ]);
  });

  it('say so when the books do not balance', () => {
    const off = [...books, { accountId: 'cash', currency: 'EUR' as Currency, dmc: 1n }];
    expect(balanceSheet(chart, off).balanced).toBe(false);
    expect(trialBalance(chart, off).balanced).toBe(false);
  });
});

describe('consolidateBalances', () => {
  const at = (r: string) => new Map([['JPY' as Currency, rate('JPY', 'EUR', r)]]);

  it('puts what per-account rounding lost on the rounding account, so the converted balances sum to zero', () => {
    // 5,000 yen -> 3,194.5 cents -> 3,194 (even); -4,999 -> -3,193.8611 -> -3,194; -1 -> -0.6389 -> -1: sum -1.
    const { balances, roundingMinor } = consolidateBalances(chart, amounts('JPY', { cash: 5_000n, sales: -4_999n, fees: -1n }), 'EUR', at('0.006389'));
    expect(roundingMinor).toBe(1n);
    expect(balances).toContainEqual({ accountId: 'rounding', currency: 'EUR', dmc: 1n });
    expect(balances.reduce((sum, b) => sum + b.dmc, 0n)).toBe(0n);
    expect(trialBalance(chart, balances).balanced).toBe(true);
  });

  it('adds no rounding line when the rounded accounts already cancel', () => {
    // 5 -> 3.125 -> 3; 15 -> 9.375 -> 9; -20 -> -12.5 -> -12 (even): 0.
    const { balances, roundingMinor } = consolidateBalances(chart, amounts('JPY', { cash: 5n, fees: 15n, sales: -20n }), 'EUR', at('0.00625'));
    expect(roundingMinor).toBe(0n);
    expect(balances.map((b) => [b.accountId, b.dmc])).toEqual([['cash', 3n], ['fees', 9n], ['sales', -12n]]);
  });
});

describe('figures for JSON', () => {
  it('leave as exact numbers, and a figure beyond 2^53 - 1 is refused rather than rounded', () => {
    expect(toJsonSafe({ a: [1n, { b: -9_007_199_254_740_991n }], c: 'x' })).toEqual({ a: [1, { b: -9_007_199_254_740_991 }], c: 'x' });
    expect(() => safeMinor(9_007_199_254_740_992n)).toThrow(expect.objectContaining({ code: 'too-large' }));
    expect(() => toJsonSafe({ total: -(2n ** 54n) })).toThrow(AccountingError);
  });
});
