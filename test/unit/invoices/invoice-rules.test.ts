import { addDays, ageingBucket, ageReceivables, dueDateFor, dunningSchedule, invoiceTotals, lineProblem, overdueFrom, splitCredit } from '../../../core/invoices';

const line = (quantity: number, unitPriceMinor: number, taxRateBp: number) => ({ description: 'Work', quantity, unitPriceMinor, taxRateBp });

describe('invoice totals', () => {
  it('sums quantity x unit price and adds tax at each line’s rate', () => {
    expect(invoiceTotals([line(3, 1000, 1900), line(1, 500, 700)])).toEqual({ lineNetMinor: [3000, 500], subtotalMinor: 3500, taxMinor: 570 + 35, totalMinor: 4105 });
  });

  it('rounds tax once per invoice, not per line: three lines of 0.5 cent tax make 2 cents, not 3', () => {
    // Each line: 5 minor units at 10 % = 0.5; per line half up would give 1 + 1 + 1 = 3.
    expect(invoiceTotals([line(1, 5, 1000), line(1, 5, 1000), line(1, 5, 1000)]).taxMinor).toBe(2);
  });

  it('rounds a half minor unit of tax up', () => {
    expect(invoiceTotals([line(1, 5, 1000)]).taxMinor).toBe(1); // 0.5 -> 1
    expect(invoiceTotals([line(1, 4, 1000)]).taxMinor).toBe(0); // 0.4 -> 0
    expect(invoiceTotals([line(1, 15, 1000)]).taxMinor).toBe(2); // 1.5 -> 2 (half up, not half even)
  });

  it('refuses fractional quantities, negative prices and rates over 100 %', () => {
    expect(lineProblem([line(1.5, 100, 0)])).toMatch(/quantity/);
    expect(lineProblem([line(1, -1, 0)])).toMatch(/unitPriceMinor/);
    expect(lineProblem([line(1, 100, 10_001)])).toMatch(/taxRateBp/);
    expect(lineProblem([{ ...line(1, 1, 0), description: ' ' }])).toMatch(/description/);
    // Counted in characters (code points), as the API's schema and the document count them: 500 emoji are 1,000 UTF-16 units.
    expect(lineProblem([{ ...line(1, 1, 0), description: '😀'.repeat(500) }])).toBeUndefined();
    expect(lineProblem([{ ...line(1, 1, 0), description: '😀'.repeat(501) }])).toMatch(/description/);
    expect(lineProblem([line(1_000_000, Number.MAX_SAFE_INTEGER, 0)])).toMatch(/too large/);
    expect(() => invoiceTotals([line(0, 1, 0)])).toThrow(RangeError);
  });
});

describe('due dates and dunning', () => {
  it('turns terms into a due date, and keeps an explicit one', () => {
    expect(dueDateFor('2026-01-31', { terms: 'net_30' })).toBe('2026-03-02');
    expect(dueDateFor('2026-01-31', { terms: 'net_0' })).toBe('2026-01-31');
    expect(dueDateFor('2026-01-31', { dueDate: '2026-02-15' })).toBe('2026-02-15');
    expect(dueDateFor('2026-01-31', {})).toBe('2026-03-02');
    expect(() => dueDateFor('2026-01-31', { terms: 'net_400' })).toThrow(RangeError);
    expect(() => dueDateFor('2026-01-31', { terms: '30 days' })).toThrow(RangeError);
  });

  it('schedules reminders around the due date in date order, dropping any before the issue date', () => {
    expect(dunningSchedule('2026-03-01', '2026-03-10', { offsetsDays: [7, -3, 1, -20] })).toEqual([
      { number: 1, offsetDays: -3, date: '2026-03-07', sent: false },
      { number: 2, offsetDays: 1, date: '2026-03-11', sent: false },
      { number: 3, offsetDays: 7, date: '2026-03-17', sent: false },
    ]);
  });

  it('makes an invoice overdue from the day after its due date', () => {
    expect(new Date(overdueFrom('2026-02-28')).toISOString()).toBe('2026-03-01T00:00:00.000Z');
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
  });
});

describe('credit notes', () => {
  it('splits the credit between net and tax pro rata, to the minor unit', () => {
    // Invoice 1000 net + 190 tax; a credit of 595 (half) is 500 net + 95 tax.
    expect(splitCredit({ amountMinor: 595, subtotalMinor: 1000, taxMinor: 190, outstandingMinor: 1190, currency: 'EUR' })).toEqual({
      netMinor: 500, taxMinor: 95, againstOutstandingMinor: 595, toCustomerCreditMinor: 0,
    });
    const odd = splitCredit({ amountMinor: 1, subtotalMinor: 1000, taxMinor: 190, outstandingMinor: 0, currency: 'EUR' });
    expect(odd.netMinor + odd.taxMinor).toBe(1);
  });

  it('turns what exceeds the outstanding amount into customer credit', () => {
    expect(splitCredit({ amountMinor: 1190, subtotalMinor: 1000, taxMinor: 190, outstandingMinor: 190, currency: 'EUR' })).toMatchObject({ againstOutstandingMinor: 190, toCustomerCreditMinor: 1000 });
    expect(splitCredit({ amountMinor: 300, subtotalMinor: 1000, taxMinor: 190, outstandingMinor: 0, currency: 'EUR' })).toMatchObject({ againstOutstandingMinor: 0, toCustomerCreditMinor: 300 });
  });
});

describe('AR ageing', () => {
  it.each([
    ['2026-03-10', 'current'],
    ['2026-03-09', '1-30'],
    ['2026-02-08', '1-30'],
    ['2026-02-07', '31-60'],
    ['2026-01-09', '31-60'],
    ['2026-01-08', '61-90'],
    ['2025-12-10', '61-90'],
    ['2025-12-09', '90+'],
  ])('an invoice due %s is %s on 2026-03-10', (due, bucket) => {
    expect(ageingBucket(due, '2026-03-10')).toBe(bucket);
  });

  it('adds per customer and in total, per currency, never across currencies', () => {
    const report = ageReceivables(
      [
        { customerId: 'b', currency: 'EUR', dueDate: '2026-03-20', outstandingMinor: 100 },
        { customerId: 'a', currency: 'EUR', dueDate: '2026-03-01', outstandingMinor: 250 },
        { customerId: 'a', currency: 'EUR', dueDate: '2025-10-01', outstandingMinor: 50 },
        { customerId: 'a', currency: 'JPY', dueDate: '2026-01-01', outstandingMinor: 7000 },
        { customerId: 'c', currency: 'EUR', dueDate: '2026-01-01', outstandingMinor: 0 },
      ],
      '2026-03-10',
    );
    expect(report.currencies.map((c) => c.currency)).toEqual(['EUR', 'JPY']);
    const eur = report.currencies[0]!;
    expect(eur.customers).toEqual([
      { customerId: 'a', current: 0, '1-30': 250, '31-60': 0, '61-90': 0, '90+': 50, totalMinor: 300 },
      { customerId: 'b', current: 100, '1-30': 0, '31-60': 0, '61-90': 0, '90+': 0, totalMinor: 100 },
    ]);
    expect(eur.total).toEqual({ current: 100, '1-30': 250, '31-60': 0, '61-90': 0, '90+': 50, totalMinor: 400 });
    expect(report.currencies[1]!.total).toMatchObject({ '61-90': 7000, totalMinor: 7000 });
  });
});
