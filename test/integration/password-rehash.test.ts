/**
 * Raising the password hash's cost must not lock anyone out or leave old hashes behind: a login with the right
 * password against a hash stored with older scrypt parameters succeeds and stores a hash at today's parameters;
 * a wrong password changes nothing.
 */
import { randomBytes, scryptSync } from 'node:crypto';
import { withTenant, type Pool } from '../../platform/db/pool';
import { PASSWORD, registerTenant, startApi, type RegisteredTenant, type TestApi } from '../support/api';
import { ownerPool, testConfig } from '../support/env';

let api: TestApi;
let owner: Pool;
let tenant: RegisteredTenant;
beforeAll(async () => {
  api = startApi();
  owner = ownerPool(testConfig());
  tenant = await registerTenant(api);
});
afterAll(async () => {
  await owner.end();
  await api.close();
});

const storedHash = async () =>
  withTenant(owner, tenant.tenantId, async (tx) => (await tx.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE email = $1', [tenant.adminEmail])).rows[0]!.password_hash);

describe('a password hash stored with older scrypt parameters', () => {
  beforeAll(async () => {
    const salt = randomBytes(16);
    const key = scryptSync(PASSWORD.normalize('NFC'), salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
    const old = `scrypt$15$8$1$${salt.toString('base64')}$${key.toString('base64')}`;
    await withTenant(owner, tenant.tenantId, (tx) => tx.query('UPDATE users SET password_hash = $1 WHERE email = $2', [old, tenant.adminEmail]));
  });

  it('is left as it is by a wrong password', async () => {
    const before = await storedHash();
    await api.http().post('/api/auth/login').send({ email: tenant.adminEmail, password: `${PASSWORD}!` }).expect(401);
    expect(await storedHash()).toBe(before);
  });

  it("is replaced by one at today's parameters when the right password logs in, which logs in again", async () => {
    await api.http().post('/api/auth/login').send({ email: tenant.adminEmail, password: PASSWORD }).expect(200);
    expect(await storedHash()).toMatch(/^scrypt\$17\$8\$1\$/);
    await api.http().post('/api/auth/login').send({ email: tenant.adminEmail, password: PASSWORD }).expect(200);
  });
});
