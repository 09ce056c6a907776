import { normaliseEmail } from '../../core/identity/email';

describe('normaliseEmail', () => {
  it.each([
    ['Ada@Example.COM', 'ada@example.com'],
    ['  ada@example.com  ', 'ada@example.com'],
    ['ａｄａ@example.com', 'ada@example.com'], // full-width letters fold under NFKC
    ['first.last+tag@sub.example.co', 'first.last+tag@sub.example.co'],
  ])('normalises %p to %p', (input, expected) => {
    expect(normaliseEmail(input)).toEqual({ ok: true, email: expected });
  });

  it('meets NFC and NFD spellings of the same address (both refused as non-ASCII, never split in two)', () => {
    const nfc = 'jos\u00e9@example.com';
    const nfd = 'jose\u0301@example.com';
    expect(normaliseEmail(nfc)).toEqual(normaliseEmail(nfd));
    expect(normaliseEmail(nfc).ok).toBe(false);
  });

  it.each([
    ['аda@example.com', 'Cyrillic а posing as Latin a'],
    ['ada@exаmple.com', 'a confusable in the domain'],
    ['ada@example', 'no top-level domain'],
    ['ada..x@example.com', 'double dot'],
    ["' OR 1=1 --@x.com", 'SQL in the local part'],
    ['ada@example.com\r\nBcc: x@evil.test', 'header injection'],
    ['a'.repeat(65) + '@example.com', 'local part over 64'],
    ['', 'empty'],
  ])('refuses %p (%s)', (input) => {
    expect(normaliseEmail(input).ok).toBe(false);
  });
});
