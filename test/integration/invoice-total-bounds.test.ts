/**
 * An invoice whose lines are each within bounds but whose total is not is a 400 naming the lines, not a 500 (found
 * by npm run fuzz: two lines near the largest unit price reached the totals and threw RangeError).
 */
import { randomUUID } from 'node:crypto';
import { MAX_AMOUNT_MINOR } from '../../core/money';
import { bearer, registerTenant, startApi, type TestApi } from '../support/api';

describe('an invoice total beyond what an amount may be', () => {
  let api: TestApi;
  beforeAll(() => {
    api = startApi();
  });
  afterAll(() => api.close());

  const lines = [
    { description: 'Large', quantity: 1, unitPriceMinor: MAX_AMOUNT_MINOR, taxRateBp: 0 },
    { description: 'Larger still', quantity: 1, unitPriceMinor: MAX_AMOUNT_MINOR, taxRateBp: 0 },
  ];

  it('is refused with 400 on creation', async () => {
    const tenant = await registerTenant(api);
    const res = await api
      .http()
      .post('/api/invoices')
      .set(bearer(tenant.admin.accessToken))
      .set('Idempotency-Key', randomUUID())
      .send({ customerId: 'cus_big', currency: 'EUR', lines });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body.errors)).toContain('lines');
  });
});
