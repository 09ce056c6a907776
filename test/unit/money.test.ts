import { add, compare, format, isCurrency, minorUnitExponent, money, negate, subtract } from '../../core/money';

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
