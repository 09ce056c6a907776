/** Hostile input to the identity routes: a precise 4xx problem, and nothing changes. */
import { randomUUID } from 'node:crypto';
import { createPool, withTenant, type Pool } from '../../platform/db/pool';
import { bearer, OPERATOR_TOKEN, PASSWORD, registerTenant, startApi, type TestApi } from '../support/api';
import { testConfig } from '../support/env';

let api: TestApi;
let owner: Pool;
beforeAll(() => {
  api = startApi();
  owner = createPool(testConfig().DATABASE_MIGRATION_URL, 2);
});
afterAll(async () => {
  await api.close();
  await owner.end();
});

const valid = () => {
  const slug = `t-${randomUUID().slice(0, 12)}`;
  return { organisation: { name: 'Acme', slug, defaultCurrency: 'EUR' }, admin: { email: `ada@${slug}.test`, password: PASSWORD, displayName: 'Ada' } };
};

type Body = ReturnType<typeof valid>;
const cases: [string, (b: Body) => unknown, string][] = [
  ['an unknown top-level field', (b) => ({ ...b, isAdmin: true }), 'body'],
  ['an unknown nested field', (b) => ({ ...b, admin: { ...b.admin, role: 'admin' } }), 'body.admin'],
  ['a number where a string belongs', (b) => ({ ...b, organisation: { ...b.organisation, name: 42 } }), 'body.organisation.name'],
  ['a confusable email', (b) => ({ ...b, admin: { ...b.admin, email: 'аda@acme.test' } }), 'body.admin.email'],
  ['an NFD accented email', (b) => ({ ...b, admin: { ...b.admin, email: 'jose\u0301@acme.test' } }), 'body.admin.email'],
  ['SQL in the slug', (b) => ({ ...b, organisation: { ...b.organisation, slug: "x'; DROP TABLE tenants; --" } }), 'body.organisation.slug'],
  ['a header injection in the email', (b) => ({ ...b, admin: { ...b.admin, email: 'ada@acme.test\r\nBcc: x@evil.test' } }), 'body.admin.email'],
  ['a short password', (b) => ({ ...b, admin: { ...b.admin, password: 'short' } }), 'body.admin.password'],
  ['a huge password', (b) => ({ ...b, admin: { ...b.admin, password: 'x'.repeat(10_000) } }), 'body.admin.password'],
  ['a lower-case currency', (b) => ({ ...b, organisation: { ...b.organisation, defaultCurrency: 'eur' } }), 'body.organisation.defaultCurrency'],
  ['a missing admin', (b) => ({ organisation: b.organisation }), 'body.admin'],
];

describe('POST /api/auth/register with bad input', () => {
  it.each(cases)('refuses %s, naming the field, and creates nothing', async (_name, mutate, field) => {
    const good = valid();
    const res = await api.http().post('/api/auth/register').send(mutate(structuredClone(good)) as object).expect(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(field);
    // Nothing was created: the same slug and email are still free, and that admin cannot log in yet.
    await api.http().post('/api/auth/login').send({ email: good.admin.email, password: PASSWORD }).expect(401);
    await api.http().post('/api/auth/register').send(good).expect(201);
  });
});

describe('numbers and injections elsewhere', () => {
  it.each([
    ['a fractional delay', { message: 'x', delaySeconds: 0.5 }],
    ['a huge delay', { message: 'x', delaySeconds: 1e308 }],
    ['a negative delay', { message: 'x', delaySeconds: -1 }],
    ['a numeric string', { message: 'x', delaySeconds: '10' }],
  ])('refuses %s', async (_name, body) => {
    await api.http().post('/api/smoke').set(bearer(OPERATOR_TOKEN)).send(body).expect(400);
  });

  it('treats SQL in a login email as a bad email, never as SQL', async () => {
    const res = await api.http().post('/api/auth/login').send({ email: "' OR '1'='1' --", password: PASSWORD }).expect(400);
    expect(res.body.errors[0].path).toBe('body.email');
  });

  it('refuses an invitation role that does not exist, and a role an API key may not carry', async () => {
    const tenant = await registerTenant(api);
    await api.http().post('/api/users/invitations').set(bearer(tenant.admin.accessToken)).send({ email: 'x@y.test', role: 'root' }).expect(400);
    await api.http().post('/api/api-keys').set(bearer(tenant.admin.accessToken)).send({ name: 'k', role: 'admin' }).expect(400);
    const keys = await withTenant(owner, tenant.tenantId, (tx) => tx.query('SELECT 1 FROM api_keys'));
    expect(keys.rowCount).toBe(0);
  });
});

describe('invitations', () => {
  it('can be accepted once, and a forged token is refused', async () => {
    const tenant = await registerTenant(api);
    const inv = await api.http().post('/api/users/invitations').set(bearer(tenant.admin.accessToken)).send({ email: `ops@${tenant.slug}.test`, role: 'ops' }).expect(201);
    await api.http().post('/api/auth/invitations/accept').send({ token: inv.body.token, password: PASSWORD, displayName: 'Ops' }).expect(201);
    await api.http().post('/api/auth/invitations/accept').send({ token: inv.body.token, password: PASSWORD, displayName: 'Ops again' }).expect(401);
    const forged = inv.body.token.slice(0, -4) + 'AAAA';
    await api.http().post('/api/auth/invitations/accept').send({ token: forged, password: PASSWORD, displayName: 'X' }).expect(401);
  });
});
