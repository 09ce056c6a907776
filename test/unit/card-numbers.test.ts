import { containsCardNumber, luhnValid } from '../../core/security/card-numbers';

describe('card numbers in free text', () => {
  it.each([
    ['a Visa test card', '4242424242424242'],
    ['grouped by spaces', 'paid with 4242 4242 4242 4242 yesterday'],
    ['grouped by dashes', '5555-5555-5555-4444'],
    ['a 3-D Secure test card', '4000056655665556'],
    ['an Amex (15 digits)', '378282246310005'],
    ['a Discover card', '6011000990139424'],
    ['one embedded in longer text, letters against it', 'ref:4242424242424242;paid'],
    ['a 19-digit card', '4000000000000000006'],
  ])('finds %s', (_name, text) => {
    expect(containsCardNumber(text)).toBe(true);
  });

  it.each([
    ['a number failing Luhn', '4242424242424241'],
    ['12 digits', '424242424242'],
    ['a 25-digit reference', '1234567890123456789012345'],
    ['a 20-digit run, though its first 16 digits are a card', '42424242424242420000'],
    ['digits split by letters', '4242x4242x4242x4242'],
    ['a date and an amount', '2026-11-25 total 1500'],
    ['double spaces between groups', '4242  4242  4242  4242'],
  ])('lets %s through', (_name, text) => {
    expect(containsCardNumber(text)).toBe(false);
  });

  it('checks Luhn as specified', () => {
    expect(luhnValid('79927398713')).toBe(true);
    expect(luhnValid('79927398710')).toBe(false);
  });
});
