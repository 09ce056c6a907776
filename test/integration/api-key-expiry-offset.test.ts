/**
 * An API key's expiry given with any UTC offset the document allows (found by npm run fuzz: an offset beyond
 * PostgreSQL's +-15:59, '+22:26', reached the database as text and was answered 500).
 */
import { bearer, registerTenant, startApi, type TestApi } from '../support/api';

describe('an API key expiry with a UTC offset', () => {
  let api: TestApi;
  beforeAll(() => {
    api = startApi();
  });
  afterAll(() => api.close());

  it.each([
    ['2100-01-01T00:00:00+22:26', '2099-12-31T01:34:00.000Z'],
    ['2100-01-01T00:00:00-23:59', '2100-01-01T23:59:00.000Z'],
    ['2100-01-01T12:00:00+05:30', '2100-01-01T06:30:00.000Z'],
  ])('%s is kept as the instant it names, %s', async (given, instant) => {
    const tenant = await registerTenant(api);
    const res = await api.http().post('/api/api-keys').set(bearer(tenant.admin.accessToken)).send({ name: 'offset', role: 'client', expiresAt: given });
    expect(res.status).toBe(201);
    expect(res.body.expiresAt).toBe(instant);
  });
});
