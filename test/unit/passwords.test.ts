import { randomBytes, scryptSync } from 'node:crypto';
import { hashPassword, needsRehash, verifyPassword } from '../../platform/auth/passwords';

/** A hash as an older FinFlow stored it: scrypt at N=2^15, its parameters in the string. */
function storedWithOldParameters(password: string): string {
  const salt = randomBytes(16);
  const key = scryptSync(password.normalize('NFC'), salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
  return `scrypt$15$8$1$${salt.toString('base64')}$${key.toString('base64')}`;
}

describe('password hashing', () => {
  it("hashes with OWASP's scrypt parameters (N=2^17, r=8, p=1) and stores them with the hash", async () => {
    const stored = await hashPassword('correct horse battery staple');
    expect(stored).toMatch(/^scrypt\$17\$8\$1\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$/);
    await expect(verifyPassword('correct horse battery staple', stored)).resolves.toBe(true);
    await expect(verifyPassword('correct horse battery stapler', stored)).resolves.toBe(false);
    expect(needsRehash(stored)).toBe(false);
  });

  it('verifies a hash stored with older parameters, and marks it for rehashing', async () => {
    const old = storedWithOldParameters('correct horse battery staple');
    await expect(verifyPassword('correct horse battery staple', old)).resolves.toBe(true);
    await expect(verifyPassword('wrong', old)).resolves.toBe(false);
    expect(needsRehash(old)).toBe(true);
  });

  it('refuses a stored hash whose parameters it would not spend (a corrupt or hostile row), without throwing', async () => {
    const old = storedWithOldParameters('pw');
    await expect(verifyPassword('pw', old.replace('scrypt$15$', 'scrypt$30$'))).resolves.toBe(false);
    await expect(verifyPassword('pw', 'scrypt$x$8$1$AAAA$AAAA')).resolves.toBe(false);
  });
});
