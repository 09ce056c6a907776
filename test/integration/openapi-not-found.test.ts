/** The OpenAPI document lists the 404 a route answers for a resource that is not there (found by npm run fuzz). */
import { randomUUID } from 'node:crypto';
import { bearer, registerTenant, startApi, type TestApi } from '../support/api';

describe('the OpenAPI document and a missing resource', () => {
  let api: TestApi;
  let document: { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
  beforeAll(async () => {
    api = startApi();
    document = (await api.http().get('/api/openapi.json').expect(200)).body;
  });
  afterAll(() => api.close());

  it.each([
    ['get', '/api/payments/{id}'],
    ['post', '/api/payments/{id}/refunds'],
    ['post', '/api/payments/{id}/cancel'],
    ['post', '/api/credit/applications/{id}/decision'],
  ])('%s %s: answered 404 for an unknown id, and documented', async (method, template) => {
    const tenant = await registerTenant(api);
    const url = template.replace('{id}', randomUUID());
    let req = api.http()[method as 'get' | 'post'](url).set(bearer(tenant.admin.accessToken)).set('Idempotency-Key', randomUUID());
    if (template.endsWith('/refunds')) req = req.send({ amountMinor: 100 });
    if (template.endsWith('/decision')) req = req.send({ decision: 'approve', approvedLimitMinor: 3_000_000 });
    const res = await req;
    expect(res.status).toBe(404);
    expect(Object.keys(document.paths[template]![method]!.responses)).toContain('404');
  });

  it('documents 404 on every route that names a resource in its path', () => {
    const missing = Object.entries(document.paths)
      .filter(([p]) => p.includes('{'))
      .flatMap(([p, ops]) => Object.entries(ops).filter(([, op]) => !('404' in op.responses)).map(([m]) => `${m.toUpperCase()} ${p}`));
    expect(missing).toEqual([]);
  });
});
