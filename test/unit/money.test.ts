import fc from 'fast-check';
import { add, allocate, compare, convert, divideRounded, format, isCurrency, minorUnitExponent, money, negate, subtract } from '../../core/money';

describe('money', () => {
  it('knows each currency’s minor unit', () => {
    expect(minorUnitExponent('USD')).toBe(2);
    expect(minorUnitExponent('JPY')).toBe(0);
    expect(minorUnitExponent('KWD')).toBe(3);
  });

  it.each([
    [money(1234, 'EUR'), '12.34 EUR'],
    [money(5, 'USD'), '0.05 USD'],
    [money(-1500, 'KWD'), '-1.500 KWD'],
    [money(1200, 'JPY'), '1200 JPY'],
    [money(0, 'GBP'), '0.00 GBP'],
  ])('formats %p exactly as %p', (m, text) => {
    expect(format(m)).toBe(text);
  });

  it('adds and subtracts in integers, within one currency', () => {
    expect(add(money(10, 'EUR'), money(20, 'EUR'))).toEqual(money(30, 'EUR'));
    expect(subtract(money(10, 'EUR'), money(25, 'EUR'))).toEqual(money(-15, 'EUR'));
    expect(negate(money(7, 'EUR'))).toEqual(money(-7, 'EUR'));
    expect(compare(money(1, 'EUR'), money(2, 'EUR'))).toBe(-1);
    expect(() => add(money(1, 'EUR'), money(1, 'USD'))).toThrow('currency mismatch');
  });

  it('refuses floats, unsafe integers, overflow and unknown currencies', () => {
    expect(() => money(10.5, 'EUR')).toThrow(RangeError);
    expect(() => money(2 ** 53, 'EUR')).toThrow(RangeError);
    expect(() => add(money(Number.MAX_SAFE_INTEGER, 'EUR'), money(1, 'EUR'))).toThrow('overflow');
    expect(() => money(1, 'XXX' as never)).toThrow('unknown currency');
    expect(isCurrency('usd')).toBe(false);
  });
});

describe('rounding with an explicit mode', () => {
  // numerator / denominator: 25/10 = 2.5, -25/10 = -2.5, 35/10 = 3.5, 24/10 = 2.4, 26/10 = 2.6
  it.each([
    ['half-up', [3n, -3n, 4n, 2n, 3n]],
    ['half-even', [2n, -2n, 4n, 2n, 3n]],
    ['half-down', [2n, -2n, 3n, 2n, 3n]],
    ['up', [3n, -3n, 4n, 3n, 3n]],
    ['down', [2n, -2n, 3n, 2n, 2n]],
    ['ceiling', [3n, -2n, 4n, 3n, 3n]],
    ['floor', [2n, -3n, 3n, 2n, 2n]],
  ] as const)('%s gives %p for 2.5, -2.5, 3.5, 2.4, 2.6', (mode, expected) => {
    expect([25n, -25n, 35n, 24n, 26n].map((n) => divideRounded(n, 10n, mode))).toEqual(expected);
  });

  it('is exact for any integers: the result is within one of the true quotient, on the side the mode says', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), fc.bigInt({ min: 1n, max: 10n ** 12n }), (n, d) => {
        const floor = n >= 0n ? n / d : -((-n + d - 1n) / d);
        expect(divideRounded(n, d, 'floor')).toBe(floor);
        expect(divideRounded(n, d, 'ceiling')).toBe(n % d === 0n ? floor : floor + 1n);
        const even = divideRounded(n, d, 'half-even');
        // |n - even*d| <= d/2, and on an exact tie the result is even.
        expect(2n * (n - even * d) <= d && 2n * (even * d - n) <= d).toBe(true);
        if (2n * (n - floor * d) === d) expect(even % 2n).toBe(0n);
      }),
    );
  });
});

describe('allocation', () => {
  it('splits without losing or inventing a minor unit, largest remainders first', () => {
    expect(allocate(money(100, 'EUR'), [1, 1, 1]).map((m) => m.amountMinor)).toEqual([34, 33, 33]);
    expect(allocate(money(5, 'JPY'), [3, 7]).map((m) => m.amountMinor)).toEqual([2, 3]); // 1.5 and 3.5: a tie, to the earlier part
    expect(allocate(money(10, 'JPY'), [1, 2]).map((m) => m.amountMinor)).toEqual([3, 7]); // 3.33 and 6.67: the larger remainder
    expect(allocate(money(-100, 'EUR'), [1, 1, 1]).map((m) => m.amountMinor)).toEqual([-34, -33, -33]);
    expect(allocate(money(10, 'EUR'), [0, 1]).map((m) => m.amountMinor)).toEqual([0, 10]);
    expect(() => allocate(money(10, 'EUR'), [0, 0])).toThrow(RangeError);
    expect(() => allocate(money(10, 'EUR'), [1.5])).toThrow(RangeError);
  });

  it('always sums to the amount, and each part is within one unit of its exact share', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1_000_000_000, max: 1_000_000_000 }), fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 12 }), (amount, weights) => {
        fc.pre(weights.some((w) => w > 0));
        const parts = allocate(money(amount, 'USD'), weights);
        expect(parts.reduce((a, p) => a + p.amountMinor, 0)).toBe(amount);
        const total = weights.reduce((a, b) => a + b, 0);
        parts.forEach((p, i) => expect(Math.abs(p.amountMinor - (amount * weights[i]!) / total)).toBeLessThan(1));
      }),
    );
  });
});

describe('conversion', () => {
  it('converts between currencies with their ISO exponents, rounding once, half-even by default', () => {
    expect(convert(money(1000, 'JPY'), '0.0061', 'EUR')).toEqual(money(610, 'EUR')); // 1000 JPY -> 6.10 EUR
    expect(convert(money(10_000, 'EUR'), '163.875', 'JPY')).toEqual(money(16_388, 'JPY')); // 100 EUR -> 16387.5 -> 16388
    expect(convert(money(10_000, 'EUR'), '163.865', 'JPY')).toEqual(money(16_386, 'JPY')); // 16386.5 -> even: 16386
    expect(convert(money(10_000, 'EUR'), '163.865', 'JPY', 'half-up')).toEqual(money(16_387, 'JPY'));
    expect(convert(money(100, 'USD'), '0.30675', 'KWD')).toEqual(money(307, 'KWD')); // 1 USD -> 0.30675 KWD -> 0.307 (3 places)
    expect(() => convert(money(1, 'USD'), '1e3', 'EUR')).toThrow(RangeError);
    expect(() => convert(money(1, 'USD'), '0', 'EUR')).toThrow(RangeError);
  });
});
