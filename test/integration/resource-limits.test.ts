/**
 * Unrestricted resource consumption (OWASP API4), the page sizes: every list's `limit` is capped as the document
 * says, one above the cap is a 400 naming query.limit, and the cap itself is served.
 */
import { bearer, registerTenant, startApi, type RegisteredTenant, type TestApi } from '../support/api';

let api: TestApi;
let tenant: RegisteredTenant;
let doc: { paths: Record<string, Record<string, { parameters: { in: string; name: string; required: boolean; schema: { maximum?: number } }[] }>> };
beforeAll(async () => {
  api = startApi();
  tenant = await registerTenant(api);
  doc = (await api.http().get('/api/openapi.json').expect(200)).body;
});
afterAll(() => api.close());

/** Valid values for a list's other required query parameters (the reports' date ranges). */
const REQUIRED: Record<string, string> = { from: '2025-01-01', to: '2025-01-31', asOf: '2025-01-31' };

describe('a list', () => {
  it("refuses one above its documented page size with a 400 naming query.limit, and serves that size", async () => {
    const lists = Object.entries(doc.paths).flatMap(([p, ops]) =>
      Object.entries(ops).flatMap(([method, op]) => {
        const limit = op.parameters.find((prm) => prm.in === 'query' && prm.name === 'limit');
        return method === 'get' && !p.includes('{') && limit ? [{ path: p, op, max: limit.schema.maximum }] : [];
      }),
    );
    expect(lists.length).toBeGreaterThanOrEqual(4);
    for (const { path: p, op, max } of lists) {
      expect(`${p} maximum ${max}`).toMatch(/maximum \d+$/);
      const query = Object.fromEntries(op.parameters.filter((prm) => prm.in === 'query' && prm.required).map((prm) => [prm.name, REQUIRED[prm.name]!]));
      const over = await api.http().get(p).query({ ...query, limit: max! + 1 }).set(bearer(tenant.admin.accessToken));
      expect(`${p}: ${over.status}`).toBe(`${p}: 400`);
      expect(over.body.errors.map((e: { path: string }) => e.path)).toEqual(['query.limit']);
      const atCap = await api.http().get(p).query({ ...query, limit: max! }).set(bearer(tenant.admin.accessToken));
      expect(`${p}: ${atCap.status}`).toBe(`${p}: 200`);
    }
  });
});
