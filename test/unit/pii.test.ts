import { randomBytes } from 'node:crypto';
import { decryptPii, encryptPii, piiKeyId, PiiDecryptionError, type PiiKeys } from '../../platform/pii';

const k1 = randomBytes(32);
const k2 = randomBytes(32);
const ctx = 'credit_applications/t1/a1/applicant_given_name';

describe('personal data encrypted at rest', () => {
  it('round-trips under the active key, naming it, and never holds the plaintext', () => {
    const keys: PiiKeys = { keys: new Map([['2026-06', k1]]), activeId: '2026-06' };
    const value = encryptPii(keys, 'Mei Lin', ctx);
    expect(value).toMatch(/^pii:v1:2026-06:[A-Za-z0-9+/]+=*$/);
    expect(value).not.toContain('Mei');
    expect(piiKeyId(value)).toBe('2026-06');
    expect(decryptPii(keys, value, ctx)).toBe('Mei Lin');
    expect(encryptPii(keys, 'Mei Lin', ctx)).not.toBe(value); // a fresh IV each time
  });

  it('keeps decrypting old values after rotation, and encrypts new ones under the new key', () => {
    const before: PiiKeys = { keys: new Map([['2026-06', k1]]), activeId: '2026-06' };
    const old = encryptPii(before, '1979-03-14', ctx);
    const after: PiiKeys = { keys: new Map([['2026-06', k1], ['2026-11', k2]]), activeId: '2026-11' };
    expect(decryptPii(after, old, ctx)).toBe('1979-03-14');
    expect(piiKeyId(encryptPii(after, 'x', ctx))).toBe('2026-11');
    // A retired key removed too early: a clear error naming the key, not the value.
    const retired: PiiKeys = { keys: new Map([['2026-11', k2]]), activeId: '2026-11' };
    expect(() => decryptPii(retired, old, ctx)).toThrow(new PiiDecryptionError('PII key 2026-06 is not configured (keep retired keys listed in PII_ENCRYPTION_KEYS)'));
  });

  it('refuses a value moved to another record or column, or altered', () => {
    const keys: PiiKeys = { keys: new Map([['k', k1]]), activeId: 'k' };
    const value = encryptPii(keys, 'Taipei', ctx);
    expect(() => decryptPii(keys, value, 'credit_applications/t1/a2/applicant_given_name')).toThrow(PiiDecryptionError);
    expect(() => decryptPii(keys, value, 'credit_applications/t1/a1/applicant_family_name')).toThrow(PiiDecryptionError);
    const raw = Buffer.from(value.slice('pii:v1:k:'.length), 'base64');
    raw[14] = raw[14]! ^ 1;
    expect(() => decryptPii(keys, `pii:v1:k:${raw.toString('base64')}`, ctx)).toThrow(PiiDecryptionError);
    expect(() => decryptPii(keys, 'Taipei', ctx)).toThrow(PiiDecryptionError);
  });
});
