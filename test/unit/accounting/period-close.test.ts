/** The period close's pure rules: the month a run closes, the fiscal year's end, FX revaluation, closing lines. */
import { closingLines, endsFiscalYear, localDate, monthOf, previousMonth, revaluationLines, revalue, type ChartAccount } from '../../../core/accounting';

describe('the month a close covers', () => {
  it('is the month before the scheduled day, in the books time zone', () => {
    // 1 March 00:30 in Berlin is still 28 February in UTC.
    const scheduled = new Date('2025-02-28T23:30:00Z');
    expect(previousMonth(localDate(scheduled, 'Europe/Berlin'))).toEqual({ periodStart: '2025-02-01', periodEnd: '2025-02-28' });
    expect(previousMonth(localDate(scheduled, 'UTC'))).toEqual({ periodStart: '2025-01-01', periodEnd: '2025-01-31' });
    expect(previousMonth('2025-01-01')).toEqual({ periodStart: '2024-12-01', periodEnd: '2024-12-31' });
    expect(monthOf('2024-02-10')).toEqual({ periodStart: '2024-02-01', periodEnd: '2024-02-29' });
  });

  it('ends the fiscal year in the month before the one it starts in', () => {
    expect(endsFiscalYear(monthOf('2025-12-01'), 1)).toBe(true);
    expect(endsFiscalYear(monthOf('2025-11-01'), 1)).toBe(false);
    expect(endsFiscalYear(monthOf('2025-06-01'), 7)).toBe(true);
    expect(endsFiscalYear(monthOf('2025-12-01'), 7)).toBe(false);
  });
});

describe('FX revaluation', () => {
  const rates = [
    { base: 'USD' as const, quote: 'EUR' as const, rate: '0.9', rateDate: '2025-02-28' },
    { base: 'USD' as const, quote: 'EUR' as const, rate: '0.92', rateDate: '2025-03-12' },
    { base: 'USD' as const, quote: 'EUR' as const, rate: '0.95', rateDate: '2025-03-31' },
  ];
  it('values the opening at the previous period end, each movement at its day, the closing at the period end', () => {
    // Opening 100.00 USD at 0.90 = 90.00 EUR; +50.00 USD on 12 March at 0.92 = 46.00 EUR: carrying 136.00 EUR.
    // Closing 150.00 USD at 0.95 = 142.50 EUR: a gain of 6.50 EUR.
    const [line] = revalue([{ accountId: 'ar', currency: 'USD', openingDmc: 10_000n, movements: [{ date: '2025-03-12', dmc: 5_000n }] }], 'EUR', rates, monthOf('2025-03-01'));
    expect(line).toMatchObject({ closingDmc: 15_000n, carryingMinor: 13_600n, revaluedMinor: 14_250n, differenceMinor: 650n, rate: '0.95' });
    expect(revaluationLines([line!], 'EUR', 'fx')).toEqual([
      { accountId: 'ar', currency: 'EUR', amountMinor: 650n },
      { accountId: 'fx', currency: 'EUR', amountMinor: -650n },
    ]);
  });

  it('refuses a month with no rate for a movement day, naming the pair', () => {
    expect(() => revalue([{ accountId: 'ar', currency: 'USD', openingDmc: 0n, movements: [{ date: '2025-02-01', dmc: 1n }] }], 'EUR', rates, monthOf('2025-02-01'))).toThrow(/USD/);
  });
});

describe('closing lines', () => {
  const acct = (id: string, type: ChartAccount['type']) => ({ id, type }) as ChartAccount;
  it('bring revenue and expense to zero per currency and the net to retained earnings; balance sheet accounts stay', () => {
    const chart = [acct('rev', 'revenue'), acct('exp', 'expense'), acct('cash', 'asset'), acct('re', 'equity')];
    const lines = closingLines(
      chart,
      [
        { accountId: 'rev', currency: 'EUR', dmc: -10_000n },
        { accountId: 'exp', currency: 'EUR', dmc: 2_500n },
        { accountId: 'cash', currency: 'EUR', dmc: 7_500n },
        { accountId: 'rev', currency: 'JPY', dmc: -400n },
      ],
      're',
    );
    expect(lines).toEqual([
      { accountId: 'rev', currency: 'EUR', amountMinor: 10_000n },
      { accountId: 'exp', currency: 'EUR', amountMinor: -2_500n },
      { accountId: 'rev', currency: 'JPY', amountMinor: 400n },
      { accountId: 're', currency: 'EUR', amountMinor: -7_500n },
      { accountId: 're', currency: 'JPY', amountMinor: -400n },
    ]);
  });
});
