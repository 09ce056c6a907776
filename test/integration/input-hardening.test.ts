/**
 * Input that used to reach PostgreSQL or the logs: a NUL character in any string (PostgreSQL refuses it in text and
 * jsonb, and the API answered 500), card numbers in free text (accepted, stored and echoed back), a cursor that
 * decodes but carries no UUID (a failed ::uuid cast, 500), and a compatibility ligature in an email. Each is a 4xx
 * problem+json naming the field, and nothing is stored.
 */
import { randomUUID } from 'node:crypto';
import { bearer, registerTenant, startApi, type RegisteredTenant, type TestApi } from '../support/api';

let api: TestApi;
let tenant: RegisteredTenant;
beforeAll(async () => {
  api = startApi();
  tenant = await registerTenant(api);
});
afterAll(() => api.close());

const payment = (metadata: Record<string, string>) => ({
  amountMinor: 1500,
  currency: 'EUR',
  customerId: `cus_${randomUUID().slice(0, 8)}`,
  paymentMethod: 'pm_card_visa',
  metadata,
});
const post = (body: object, key = randomUUID()) =>
  api.http().post('/api/payments').set(bearer(tenant.admin.accessToken)).set('Idempotency-Key', key).send(body);

function expectProblem(res: { status: number; headers: Record<string, string>; body: { errors?: { path: string; message: string }[] } }, status: number, field: string) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body.errors?.map((e) => e.path)).toContain(field);
}

describe('a NUL character in a string', () => {
  it.each([
    ['a metadata value', { note: 'before\u0000after' }, 'body.metadata.note'],
    ['a metadata key', { 'no\u0000te': 'x' }, 'body.metadata'],
  ])('in %s is a 400 naming the field, and no payment is made', async (_name, metadata, field) => {
    const key = randomUUID();
    expectProblem(await post(payment(metadata), key), 400, field);
    // The same key with a clean body makes the payment: nothing was claimed before.
    const clean = await post(payment({ note: 'clean' }), key);
    expect([201, 202]).toContain(clean.status);
  });

  it('in a deny-list reason is a 400 naming the field', async () => {
    const res = await api
      .http()
      .post('/api/credit/deny-list')
      .set(bearer(tenant.admin.accessToken))
      .send({ country: 'TW', nationalId: 'Z999999999', reason: 'fraud\u0000' });
    expectProblem(res, 400, 'body.reason');
  });
});

describe('a card number in free text', () => {
  it.each([
    ['digits only', '4000056655665556'],
    ['in groups with spaces', 'card 4242 4242 4242 4242 used'],
    ['with dashes', '5555-5555-5555-4444'],
  ])('(%s) in payment metadata is a 400 and is never stored or echoed', async (_name, text) => {
    const res = await post(payment({ note: text }));
    expectProblem(res, 400, 'body.metadata.note');
    expect(JSON.stringify(res.body)).not.toContain(text.replace(/\D/g, '').slice(0, 12));
  });

  it('lets a number that fails the Luhn check through (an order number is not a card)', async () => {
    const res = await post(payment({ order: '4242424242424241' }));
    expect([201, 202]).toContain(res.status);
  });
});

describe('a cursor and an email that used to reach PostgreSQL raw', () => {
  it('a cursor that decodes but names no UUID is a 400 naming query.cursor', async () => {
    const cursor = Buffer.from(JSON.stringify({ t: new Date().toISOString(), id: 'not-a-uuid' })).toString('base64url');
    expectProblem(await api.http().get(`/api/payments?cursor=${cursor}`).set(bearer(tenant.admin.accessToken)), 400, 'query.cursor');
  });

  it.each([
    ['a time PostgreSQL cannot read, though Date.parse can', { t: '1', id: randomUUID() }],
    ['a time with words in it', { t: 'March 7, 2026', id: randomUUID() }],
    ['a time beyond what PostgreSQL keeps', { t: '+275760-09-13T00:00:00.000Z', id: randomUUID() }],
    ['an id of dashes and hex of the right length', { t: new Date().toISOString(), id: '------------------------------------' }],
  ])('a cursor holding %s is a 400 naming query.cursor', async (_name, position) => {
    const cursor = Buffer.from(JSON.stringify(position)).toString('base64url');
    for (const url of ['/api/payments', '/api/credit/applications', '/api/ops/payments/needs-attention']) {
      expectProblem(await api.http().get(`${url}?cursor=${cursor}`).set(bearer(tenant.admin.accessToken)), 400, 'query.cursor');
    }
  });

  it('an invitation token of the right shape whose id is no UUID is a 401, never a 500', async () => {
    const res = await api
      .http()
      .post('/api/auth/invitations/accept')
      .send({ token: `ffi_${'-'.repeat(36)}.${'a'.repeat(43)}`, password: 'correct horse battery staple', displayName: 'Mallory' });
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('a refresh token of the right shape whose session id is no UUID is a 401, never a 500', async () => {
    const res = await api.http().post('/api/auth/refresh').send({ refreshToken: `ffr_${'-'.repeat(36)}.${'a'.repeat(43)}` });
    expect(res.status).toBe(401);
  });

  it('an email with compatibility ligatures is checked for length after it is normalised: a 400, never a 500', async () => {
    // U+FB00 "ﬀ" normalises (NFKC) to "ff": 229 characters as sent, 261 once normalised (over the 254 an address
    // may have), with a 64-character local part and a valid domain.
    const slug = `lig${randomUUID().slice(0, 8)}`;
    const domain = `${'a'.repeat(63)}.${'b'.repeat(63)}.${slug}${'c'.repeat(63 - slug.length)}.test`;
    const email = `${'\ufb00'.repeat(32)}@${domain}`;
    expect(email.length).toBeLessThanOrEqual(254);
    expect(email.normalize('NFKC').length).toBeGreaterThan(254);
    const res = await api
      .http()
      .post('/api/auth/register')
      .send({ organisation: { name: 'Ligature', slug }, admin: { email, password: 'correct horse battery staple', displayName: 'L' } });
    expectProblem(res, 400, 'body.admin.email');
  });
});

describe('the codec endpoints', () => {
  it.each(['decode', 'encode'])('/api/codec/%s refuses more payloads than the documented maxItems, and takes that many', async (op) => {
    const doc = await api.http().get('/api/openapi.json').expect(200);
    const maxItems = doc.body.paths[`/api/codec/${op}`].post.requestBody.content['application/json'].schema.properties.payloads.maxItems as number;
    expect(maxItems).toBeGreaterThan(0);
    const payloads = (n: number) => Array.from({ length: n }, () => ({ metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('1').toString('base64') }));
    const over = await api.http().post(`/api/codec/${op}`).set(bearer(tenant.admin.accessToken)).send({ payloads: payloads(maxItems + 1) });
    expectProblem(over, 400, 'body.payloads');
    const atMost = await api.http().post(`/api/codec/${op}`).set(bearer(tenant.admin.accessToken)).send({ payloads: payloads(maxItems) });
    expect(atMost.status).toBe(200);
    expect(atMost.body.payloads).toHaveLength(maxItems);
  });
});
